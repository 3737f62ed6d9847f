using System.Collections.Concurrent;
using System.Text;
using Lockstep.Client;
using Lockstep.DualWrite.Tests.Operator;

namespace Lockstep.DualWrite.Tests.BrokerRestart;

/// <summary>
/// Goal: "the broker restarted in the middle of the workload" (issue 6) loses and duplicates nothing. Method: three
/// DualWriters place orders continuously (a fresh order id per attempt) while the embedded broker is stopped and
/// started again on the same data directory and port. Every unit ends as success or as a
/// <see cref="DualWriteException"/> whose <see cref="DualWriteException.Outcome"/> the test records; after the restart
/// the workload must carry on, and at the end — once each writer ran recovery, as its next unit would — the rows must
/// equal the read_committed events exactly, and each unit must be where its outcome says it is.
/// </summary>
public sealed class BrokerRestartTests
{
    private const int Writers = 3;
    private const int UnitsBeforeStop = 6;
    private const int UnitsAfterRestart = 6;
    private const string Succeeded = "Succeeded";

    private static readonly TimeSpan s_minimumOutage = TimeSpan.FromSeconds(2);

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Broker_restarted_in_the_middle_of_the_workload_leaves_rows_equal_to_events(StoreKind kind)
    {
        await using var world = await OperatorWorld.StartAsync(kind);
        var writers = Enumerable.Range(0, Writers).Select(i => world.CreateWriter($"restart-{i}", options =>
        {
            // Fail fast while the broker is away, so the outage produces failed units rather than one long stall.
            options.MaxBlock = TimeSpan.FromSeconds(2);
            options.RequestTimeout = TimeSpan.FromSeconds(2);
            options.DeliveryTimeout = TimeSpan.FromSeconds(3);
            options.ReconnectBackoffMax = TimeSpan.FromMilliseconds(200);
        })).ToList();

        // Order id → what the unit reported: "Succeeded", the DualWriteException's outcome, or "raw:Type" for a failure
        // that was not a DualWriteException (a contract breach, asserted last).
        var outcomes = new ConcurrentDictionary<int, string>();
        var nextOrderId = 0;
        var phase = (int)Phase.Running;
        var committedBeforeStop = 0;
        var committedAfterRestart = 0;
        using var stop = new CancellationTokenSource();
        var failuresWhileDown = new int[Writers];
        var workload = writers.Select((writer, index) => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var orderId = Interlocked.Increment(ref nextOrderId);
                var startedIn = (Phase)Volatile.Read(ref phase);
                Exception? workError = null;
                try
                {
                    await writer.ExecuteAsync(async (context, ct) =>
                    {
                        try
                        {
                            await world.Database.InsertOrderAsync(context, orderId, 100, ct);
                            await context.ProduceAsync(new ProducerRecord(OperatorWorld.Topic, OperatorWorld.Key(orderId),
                                Encoding.UTF8.GetBytes("OrderPlaced")), ct);
                        }
                        catch (Exception e)
                        {
                            workError = e;
                            throw;
                        }
                    }, CancellationToken.None);
                    outcomes[orderId] = Succeeded;
                    Interlocked.Increment(ref startedIn == Phase.Restarted ? ref committedAfterRestart : ref committedBeforeStop);
                }
                catch (DualWriteException e)
                {
                    outcomes[orderId] = e.Outcome.ToString();
                    CountFailure(index);
                    await Task.Delay(100, CancellationToken.None);
                }
#pragma warning disable CA1031 // Recorded and asserted on: any other exception type breaks DualWriter's contract.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    // DualWriter's contract: an exception of the unit's own work (here an awaited ProduceAsync that gave
                    // up while the broker was away) rolls both sides back and propagates unchanged.
                    outcomes[orderId] = ReferenceEquals(e, workError) ? nameof(DualWriteOutcome.RolledBack)
                        : "raw:" + e.GetType().Name + ": " + e.Message;
                    CountFailure(index);
                    await Task.Delay(100, CancellationToken.None);
                }
            }
        })).ToList();

        void CountFailure(int index)
        {
            if (Volatile.Read(ref phase) == (int)Phase.Down)
            {
                Interlocked.Increment(ref failuresWhileDown[index]);
            }
        }

        try
        {
            await WaitForAsync(() => Volatile.Read(ref committedBeforeStop) >= UnitsBeforeStop, "units before the stop", workload);
            Volatile.Write(ref phase, (int)Phase.Down);
            await world.StopBrokerAsync();
            // Down long enough that each writer fails at least twice: the unit in flight, then one that starts while the
            // broker is away (after a Kafka failure that one begins with recovery, which must fail cleanly as well).
            await Task.Delay(s_minimumOutage, TestContext.Current.CancellationToken);
            await WaitForAsync(() => Enumerable.Range(0, Writers).All(i => Volatile.Read(ref failuresWhileDown[i]) >= 2), "two failed units per writer", workload);
            await world.RestartBrokerAsync();
            Volatile.Write(ref phase, (int)Phase.Restarted);
            await WaitForAsync(() => Volatile.Read(ref committedAfterRestart) >= UnitsAfterRestart, "units after the restart", workload);
            await stop.CancelAsync();
            await Task.WhenAll(workload);

            // A unit that failed in doubt left its Kafka transaction prepared; recovery (what the next unit runs first)
            // settles it from the DB decision.
            foreach (var writer in writers)
            {
                await writer.RecoverAsync(TestContext.Current.CancellationToken);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAny(Task.WhenAll(workload), Task.Delay(TimeSpan.FromSeconds(30), CancellationToken.None));
            foreach (var writer in writers)
            {
                await writer.DisposeAsync();
            }
        }

        var rows = await world.ReadRowsAsync();
        var events = await world.ReadCommittedEventsAsync();
        var summary = string.Join(", ", outcomes.GroupBy(o => o.Value.Split(':')[0]).OrderBy(g => g.Key)
            .Select(g => $"{g.Key}={g.Count()}"));
        Assert.True(rows.SequenceEqual(events),
            $"rows and read_committed events differ ({summary}): rows without event [{string.Join(",", rows.Except(events))}], "
            + $"events without row [{string.Join(",", events.Except(rows))}], duplicated events "
            + $"[{string.Join(",", events.GroupBy(e => e).Where(g => g.Count() > 1).Select(g => g.Key))}]");

        var rowSet = rows.ToHashSet();
        foreach (var (orderId, outcome) in outcomes)
        {
            switch (outcome)
            {
                case Succeeded or nameof(DualWriteOutcome.Committed):
                    Assert.True(rowSet.Contains(orderId), $"order {orderId} reported Committed but has no row ({summary})");
                    break;
                case nameof(DualWriteOutcome.RolledBack):
                    Assert.False(rowSet.Contains(orderId), $"order {orderId} reported RolledBack but has a row ({summary})");
                    break;
                case nameof(DualWriteOutcome.Unknown):
                    // Either way is allowed; rows == events above already proved that row and event agree.
                    break;
                default:
                    // Not a DualWriteException (checked below): whatever it was, the unit must not be half-done.
                    Assert.False(rowSet.Contains(orderId), $"order {orderId} failed with {outcome} but has a row ({summary})");
                    break;
            }
        }

        // The outage was real (units failed) and the workload recovered from it.
        Assert.True(outcomes.Values.Any(o => o != Succeeded), $"no unit failed during the outage ({summary})");
        Assert.True(committedAfterRestart >= UnitsAfterRestart, summary);

        // DualWriter's contract (ExecuteAsync: "DualWriteException: a database or Kafka failure; Outcome says whether
        // the unit committed"): an application must be able to tell what happened to every failed unit.
        var raw = outcomes.Where(o => o.Value.StartsWith("raw:", StringComparison.Ordinal)).Select(o => $"order {o.Key} {o.Value}").ToList();
        Assert.True(raw.Count == 0, $"{raw.Count} unit(s) failed with an exception that is not a DualWriteException, so the "
            + $"caller cannot know their outcome ({summary}): {string.Join("; ", raw)}");
    }

    private enum Phase
    {
        Running,
        Down,
        Restarted,
    }

    /// <summary>Polls <paramref name="condition"/> for up to 30 s; fails early if a workload task died.</summary>
    private static async Task WaitForAsync(Func<bool> condition, string what, List<Task> workload)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (workload.FirstOrDefault(t => t.IsFaulted) is { } failed)
            {
                await failed;
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
