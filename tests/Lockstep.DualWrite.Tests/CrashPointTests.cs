using System.Text.Json;
using Lockstep.Cli.Demo;

namespace Lockstep.DualWrite.Tests;

/// <summary>
/// Goal: every row of dual-write.md's failure table, with a real crash, on every store. Method: the CLI's hidden
/// <c>demo-worker</c> (a separate process running DualWriter over the store) SIGKILLs itself right after a chosen
/// recipe step; a second run recovers and finishes the range; then the DB rows must equal the read_committed events
/// exactly, and recovery must have done what the table predicts for that crash point. Plus the end-to-end
/// <c>lockstep demo --json</c> run and its option checks.
/// </summary>
public sealed class CrashPointTests
{
    private const int SigKillExitCode = 137;
    private const int Orders = 6;

    /// <summary>Every store × every step boundary of the recipe.</summary>
    public static TheoryData<StoreKind, DualWriteStep> CrashPoints
    {
        get
        {
            var data = new TheoryData<StoreKind, DualWriteStep>();
            foreach (var kind in Enum.GetValues<StoreKind>())
            {
                foreach (var step in Enum.GetValues<DualWriteStep>())
                {
                    data.Add(kind, step);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(CrashPoints))]
    public async Task Worker_killed_at_a_step_boundary_recovers_to_rows_equal_events(StoreKind kind, DualWriteStep step)
    {
        // Which occurrence of the step to die at, and what recovery must then do (dual-write.md failure table).
        // Recovery at start-up passes steps 1-3 once, so for steps 2 and 3 occurrence 3 is inside the second unit.
        var (occurrence, expectedRecovery) = step switch
        {
            // Steps 1-4: nothing was prepared in a committed DB transaction; recovery aborts, or finds nothing to do
            // when the crash came before any record reached the broker.
            DualWriteStep.InitTransactions => (1, (RecoveryOutcome?)null),
            DualWriteStep.LockState or DualWriteStep.CompletePrevious => (3, null),
            DualWriteStep.WriteAndProduce => (2, null),
            // Steps 5 and 6: prepared in Kafka, DB rolled back by the crash: mismatch => abort.
            DualWriteStep.Prepare or DualWriteStep.StoreToken => (2, RecoveryOutcome.Aborted),
            // After 7: DB committed with the token, Kafka prepared: match => commit.
            DualWriteStep.CommitDatabase => (2, RecoveryOutcome.Committed),
            // After 8: both committed; recovery has nothing to do.
            DualWriteStep.CommitKafka => (2, RecoveryOutcome.NothingPrepared),
            _ => throw new ArgumentOutOfRangeException(nameof(step), step, null),
        };
        await using var harness = await DualWriteHarness.StartAsync(kind);

        var crashed = await RunWorkerAsync(harness, step, occurrence);
        Assert.True(crashed.ExitCode == SigKillExitCode, $"worker was meant to die by SIGKILL: {crashed.ExitCode} {crashed.Error}");
        var rowsAtCrash = await harness.ReadRowsAsync();

        var resumed = await RunWorkerAsync(harness, null, 0);
        Assert.True(resumed.ExitCode == 0, $"resumed worker failed: {resumed.Error}");
        if (expectedRecovery is { } expected)
        {
            Assert.Equal(DemoWorker.RecoveredPrefix + expected, resumed.FirstLine);
        }
        else
        {
            Assert.Contains(resumed.FirstLine, new[]
            {
                DemoWorker.RecoveredPrefix + RecoveryOutcome.NothingPrepared,
                DemoWorker.RecoveredPrefix + RecoveryOutcome.Aborted,
            });
        }

        // The crash happened where it was meant to: after step 7 of unit N the DB already held N rows.
        var unitsCommittedBeforeCrash = step switch
        {
            DualWriteStep.InitTransactions => 0,
            DualWriteStep.LockState or DualWriteStep.CompletePrevious => occurrence - 2, // occurrence 1 is recovery's
            DualWriteStep.CommitDatabase or DualWriteStep.CommitKafka => occurrence,
            _ => occurrence - 1,
        };
        Assert.Equal(unitsCommittedBeforeCrash, rowsAtCrash.Count);
        await harness.AssertRowsEqualEventsAsync(expectedCount: Orders);
    }

    [Fact]
    public async Task Demo_command_fires_every_planned_kill_and_reports_agreement_as_json()
    {
        // 10 kills for 30 orders: the first 8 hit every step boundary, and all 10 must fire although the workload
        // is short (a kill scheduled after the work ran out used to be dropped silently).
        var run = await DualWriteHarness.RunCliAsync(["demo", "--orders", "30", "--kills", "10", "--json"], TimeSpan.FromMinutes(3));

        Assert.True(run.ExitCode == 0, $"lockstep demo failed ({run.ExitCode}): {run.Error}");
        using var summary = JsonDocument.Parse(run.Output.Trim().Split('\n')[^1]);
        var root = summary.RootElement;
        Assert.StartsWith("SQLite ", root.GetProperty("store").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, root.GetProperty("missing").GetInt32());
        Assert.Equal(0, root.GetProperty("duplicates").GetInt32());
        Assert.Equal(30, root.GetProperty("orders").GetInt32());
        Assert.Equal(30, root.GetProperty("events").GetInt32());
        Assert.Equal(10, root.GetProperty("kills").GetInt32());
        Assert.Equal(8, root.GetProperty("stepsCovered").GetInt32());
        Assert.True(root.GetProperty("agree").GetBoolean());
        Assert.True(root.GetProperty("elapsedMs").GetInt64() > 0);
        // Progress went to stderr, one line per kill.
        Assert.Equal(10, run.Error.Split('\n').Count(line => line.StartsWith("[kill ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Demo_command_rejects_more_kills_than_the_orders_can_absorb()
    {
        var run = await DualWriteHarness.RunCliAsync(["demo", "--orders", "8", "--kills", "8"], TimeSpan.FromMinutes(1));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--kills 8 cannot all fire with --orders 8", run.Error, StringComparison.Ordinal);
        Assert.Contains("Use --orders 9 or more, or --kills 7 or fewer.", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_command_rejects_a_sqlite_path_in_a_missing_folder()
    {
        var missing = Path.Combine(Path.GetTempPath(), "lockstep-no-such-folder-" + Guid.NewGuid().ToString("N"), "orders.db");

        var run = await DualWriteHarness.RunCliAsync(["demo", "--db", missing], TimeSpan.FromMinutes(1));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("is not a SQLite file path in an existing folder", run.Error, StringComparison.Ordinal);
    }

    private static Task<DualWriteHarness.CliRun> RunWorkerAsync(DualWriteHarness harness, DualWriteStep? killAt, int occurrence) =>
        DualWriteHarness.RunCliAsync(
            DemoRunner.WorkerArguments(new DemoWorkerArgs(harness.Bootstrap, DualWriteHarness.Topic, harness.DatabaseSpec,
                "orders-0", 1, Orders, killAt, occurrence)),
            TimeSpan.FromMinutes(1));
}
