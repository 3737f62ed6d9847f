using System.Diagnostics;
using System.Globalization;
using Lockstep.Client;
using Lockstep.Client.Admin;
using Lockstep.DualWrite;
using Lockstep.DualWrite.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace Lockstep.Bench.DualWrite;

/// <summary>
/// The four ways of writing an order row and its OrderPlaced event (issue 6's benchmark), each a closed loop on the
/// same PostgreSQL and broker. Every unit inserts one row into <c>orders</c> (order id = the run-wide unit id).
/// </summary>
internal sealed class Scenarios(NpgsqlDataSource db, string bootstrap, RunSettings settings, CpuMeters cpu)
{
    private const int Partitions = 4;
    private const string InsertOrder = "INSERT INTO orders (order_id, amount_cents, placed_by) VALUES ($1, $2, $3)";
    private readonly UnitIds _ids = new();

    public static async Task CreateSchemaAsync(NpgsqlDataSource db)
    {
        await using var command = db.CreateCommand("""
            CREATE TABLE orders (order_id bigint PRIMARY KEY, amount_cents bigint NOT NULL, placed_by text NOT NULL);
            CREATE TABLE outbox (id bigserial PRIMARY KEY, order_id bigint NOT NULL, topic text NOT NULL, payload bytea NOT NULL);
            """);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>(a) INSERT the order + COMMIT; no event at all: the floor every other scenario stands on.</summary>
    /// <param name="callers">Concurrent callers.</param>
    /// <param name="label">The row's label (the drift check at the end of the run reuses the scenario).</param>
    public Task<ScenarioResult> DatabaseOnlyAsync(int callers, string label = "(a) database commit alone") =>
        RunAsync(label, callers, id => InsertAndCommitAsync(id, "a", outboxTopic: null));

    /// <summary>(b) the naive, non-atomic dual write: commit, then produce with an idempotent producer and await the
    /// acknowledgement. A crash between the two loses the event; a failed produce leaves the row without it.</summary>
    public async Task<ScenarioResult> NaiveAsync(int callers)
    {
        var topic = await CreateTopicAsync($"naive-{callers}");
        await using var producer = CreateProducer();
        return await RunAsync("(b) naive: commit, then produce", callers, async id =>
        {
            await InsertAndCommitAsync(id, "b", outboxTopic: null);
            await producer.ProduceAsync(new ProducerRecord(topic, Key(id), Visibility.Payload(id)));
        });
    }

    /// <summary>
    /// (c) a classic polling outbox (the pattern of MassTransit's bus outbox and DotNetCore.CAP's storage, written
    /// minimally): the unit INSERTs the order and an outbox row in one transaction; a relay loop, in the same process,
    /// polls <c>SELECT … ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED</c>, produces the rows with an idempotent
    /// producer, awaits every acknowledgement, DELETEs them and commits. It polls again at once while a poll returns a
    /// full batch (a backlog) and sleeps the poll interval otherwise.
    /// </summary>
    public async Task<ScenarioResult> OutboxAsync(int callers, TimeSpan interval)
    {
        var topic = await CreateTopicAsync(string.Create(CultureInfo.InvariantCulture, $"outbox-{callers}-{interval.TotalMilliseconds:0}"));
        await using var producer = CreateProducer();
        var visibility = new Visibility(_ids.Last + 1);
        await using var consumer = new VisibilityConsumer(bootstrap, topic, Partitions, visibility);
        using var stopRelay = new CancellationTokenSource();
        var relayStats = new RelayStats();
        var relay = Task.Run(() => RelayAsync(producer, interval, relayStats, stopRelay.Token));
        var label = string.Create(CultureInfo.InvariantCulture, $"(c) polling outbox, interval {interval.TotalMilliseconds:0} ms");
        var result = await RunAsync(label, callers, async id =>
        {
            await InsertAndCommitAsync(id, "c", topic);
            visibility.Committed(id);
        });
        await visibility.WaitForAllAsync(TimeSpan.FromSeconds(20) + interval);
        await stopRelay.CancelAsync();
        await relay;
        return result with
        {
            Visibility = visibility.Summarize(result.Loop.MeasuredFrom, result.Loop.MeasuredTo, _ids.Last),
            OutboxInterval = interval,
            Note = string.Create(CultureInfo.InvariantCulture,
                $"relay: {relayStats.Polls:N0} polls, {relayStats.Rows:N0} rows, largest batch {relayStats.LargestBatch}, batch limit {settings.OutboxBatch}, {relayStats.Errors} failed passes{(relayStats.FirstError is null ? "" : $" (first: `{relayStats.FirstError}`)")}"),
        };
    }

    /// <summary>(d) Lockstep: <see cref="DualWriterPool"/> over <see cref="PostgreSqlDualWriteStore"/> (leases on, the
    /// default), <paramref name="poolSize"/> ids, <paramref name="callers"/> concurrent callers.</summary>
    public async Task<ScenarioResult> LockstepAsync(int poolSize, int callers)
    {
        var topic = await CreateTopicAsync($"lockstep-{poolSize}");
        var visibility = new Visibility(_ids.Last + 1);
        var tracer = new StepTracer(visibility);
        await using var consumer = new VisibilityConsumer(bootstrap, topic, Partitions, visibility);
        await using var store = new PostgreSqlDualWriteStore(db);
        await using var pool = new DualWriterPool(store, new DualWriterPoolOptions
        {
            BootstrapServers = bootstrap,
            TransactionalIdPrefix = string.Create(CultureInfo.InvariantCulture, $"bench-{Environment.ProcessId}-p{poolSize}"),
            PoolSize = poolSize,
            ConfigureProducer = o => o.Linger = settings.Linger,
            Observer = tracer,
        });
        await pool.StartAsync();
        var label = string.Create(CultureInfo.InvariantCulture, $"(d) Lockstep DualWriterPool, {poolSize} id{(poolSize == 1 ? "" : "s")}");
        var result = await RunAsync(label, callers, async id =>
        {
            var trace = new UnitTrace(id);
            StepTracer.Current = trace;
            trace.Stamps[0] = Stopwatch.GetTimestamp();
            await pool.ExecuteAsync(async (context, ct) =>
            {
                await using (var insert = context.CreateNpgsqlCommand(InsertOrder))
                {
                    AddOrderParameters(insert, id, "d");
                    await insert.ExecuteNonQueryAsync(ct);
                }

                // Not awaited: the writer awaits every delivery before storing the token (step 5).
                _ = context.ProduceAsync(new ProducerRecord(topic, Key(id), Visibility.Payload(id)), ct);
            });
            trace.Stamps[^1] = Stopwatch.GetTimestamp();
            tracer.Finished(trace);
        }, tracer);
        await visibility.WaitForAllAsync(TimeSpan.FromSeconds(20));
        return result with
        {
            Visibility = visibility.Summarize(result.Loop.MeasuredFrom, result.Loop.MeasuredTo, _ids.Last),
            Steps = tracer.Summarize(),
            PoolSize = poolSize,
        };
    }

    private async Task<ScenarioResult> RunAsync(string label, int callers, Func<long, Task> unit, StepTracer? tracer = null)
    {
        Program.Progress($"{label}, {callers} caller(s)");
        var loop = await ClosedLoop.RunAsync(callers, settings.Warmup, settings.Duration, _ids, unit, cpu, tracer is null ? null : tracer.Window);
        return new ScenarioResult(label, loop, null, null, null);
    }

    private async Task InsertAndCommitAsync(long id, string by, string? outboxTopic)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand(InsertOrder, connection, transaction))
        {
            AddOrderParameters(insert, id, by);
            await insert.ExecuteNonQueryAsync();
        }

        if (outboxTopic is not null)
        {
            await using var outbox = new NpgsqlCommand("INSERT INTO outbox (order_id, topic, payload) VALUES ($1, $2, $3)", connection, transaction);
            outbox.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
            outbox.Parameters.Add(new NpgsqlParameter<string> { TypedValue = outboxTopic });
            outbox.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Visibility.Payload(id), NpgsqlDbType = NpgsqlDbType.Bytea });
            await outbox.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private async Task RelayAsync(KafkaProducer producer, TimeSpan interval, RelayStats stats, CancellationToken stop)
    {
        var ids = new List<long>(settings.OutboxBatch);
        var deliveries = new List<Task<DeliveryResult>>(settings.OutboxBatch);
        while (!stop.IsCancellationRequested)
        {
            ids.Clear();
            deliveries.Clear();
            try
            {
                await using var connection = await db.OpenConnectionAsync(stop);
                await using var transaction = await connection.BeginTransactionAsync(stop);
                await using (var select = new NpgsqlCommand(
                    "SELECT id, order_id, topic, payload FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", connection, transaction))
                {
                    select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = settings.OutboxBatch });
                    await using var reader = await select.ExecuteReaderAsync(stop);
                    while (await reader.ReadAsync(stop))
                    {
                        ids.Add(reader.GetInt64(0));
                        deliveries.Add(producer.ProduceAsync(
                            new ProducerRecord(reader.GetString(2), Key(reader.GetInt64(1)), (byte[])reader.GetValue(3)), stop));
                    }
                }

                if (ids.Count > 0)
                {
                    await Task.WhenAll(deliveries);
                    await using var delete = new NpgsqlCommand("DELETE FROM outbox WHERE id = ANY($1)", connection, transaction);
                    delete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. ids] });
                    await delete.ExecuteNonQueryAsync(stop);
                }

                await transaction.CommitAsync(stop);
                stats.Polls++;
                stats.Rows += ids.Count;
                stats.LargestBatch = Math.Max(stats.LargestBatch, ids.Count);
                if (ids.Count < settings.OutboxBatch)
                {
                    await Task.Delay(interval, stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A relay retries whatever failed (its rows stay in the outbox); the report counts it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                stats.Errors++;
                stats.FirstError ??= $"{e.GetType().Name}: {e.Message}";
                await Task.Delay(interval, CancellationToken.None);
            }
        }
    }

    private async Task<string> CreateTopicAsync(string name)
    {
        await using var admin = new KafkaAdminClient(new KafkaAdminClientOptions { BootstrapServers = bootstrap });
        await admin.CreateTopicsAsync([new NewTopic(name, Partitions, 1)]);
        return name;
    }

    private KafkaProducer CreateProducer() => new(new KafkaProducerOptions
    {
        BootstrapServers = bootstrap,
        ClientId = "bench-plain",
        Acks = Acks.All,
        EnableIdempotence = true,
        Linger = settings.Linger,
    });

    private static void AddOrderParameters(NpgsqlCommand command, long id, string by)
    {
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = 100 });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = by });
    }

    private static byte[] Key(long id) => System.Text.Encoding.ASCII.GetBytes(id.ToString(CultureInfo.InvariantCulture));

    private sealed class RelayStats
    {
        public long Polls;
        public long Rows;
        public int LargestBatch;
        public long Errors;
        public string? FirstError;
    }
}

/// <summary>The harness-wide settings of every scenario.</summary>
internal sealed record RunSettings(TimeSpan Warmup, TimeSpan Duration, TimeSpan Linger, int OutboxBatch);

/// <summary>One scenario's measurements.</summary>
internal sealed record ScenarioResult(
    string Label, LoopResult Loop, VisibilityResult? Visibility, IReadOnlyList<(string Interval, double P50Ms, double MeanMs)>? Steps,
    string? Note, int PoolSize = 0, TimeSpan? OutboxInterval = null);
