using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Lockstep.Broker;
using Lockstep.Cli.Demo;
using Lockstep.DualWrite.Sqlite;
using Lockstep.Testing;
using Microsoft.Data.Sqlite;

namespace Lockstep.DualWrite.Tests;

/// <summary>
/// One test's world: an embedded broker on TCP, a fresh orders database of one <see cref="StoreKind"/> (through the
/// demo's <see cref="IOrderDatabase"/>, so a test body runs unchanged on SQLite, PostgreSQL and Redis), the
/// <c>orders</c> topic, and the two views to compare — committed DB rows and what a read_committed consumer
/// (librdkafka, sharing no code with the writer) sees. Also runs the CLI (<c>lockstep.dll</c>, copied next to the
/// tests) as a child process, for the crash tests and the soak.
/// </summary>
internal sealed class DualWriteHarness : IAsyncDisposable
{
    public const string Topic = "orders";

    private readonly TempDirectory _directory;

    private DualWriteHarness(TempDirectory directory, KafkaBroker broker, StoreKind kind, IOrderDatabase database)
    {
        _directory = directory;
        Broker = broker;
        Kind = kind;
        Database = database;
    }

    public KafkaBroker Broker { get; }

    /// <summary>Which store <see cref="Database"/> is.</summary>
    public StoreKind Kind { get; }

    /// <summary>The orders database with its schema created; its <see cref="IOrderDatabase.Store"/> is the
    /// dual-write store.</summary>
    public IOrderDatabase Database { get; }

    /// <summary>The <c>--db</c> value that opens <see cref="Database"/> in a <c>demo-worker</c> process.</summary>
    public string DatabaseSpec => Database.WorkerSpec;

    /// <summary>The SQLite store, for tests that reach into its tables with SQL (SQLite harness only).</summary>
    public SqliteDualWriteStore Store => Database.Store as SqliteDualWriteStore
        ?? throw new InvalidOperationException($"{nameof(Store)} is the SQLite store; this harness runs {Kind}: use {nameof(Database)}.");

    public string Bootstrap => Broker.BootstrapServers;

    /// <summary>The CLI assembly the tests run as a child process.</summary>
    public static string CliAssembly => Path.Combine(AppContext.BaseDirectory, "lockstep.dll");

    /// <summary>A SQLite harness (the default of the tests written before the other stores existed).</summary>
    public static Task<DualWriteHarness> StartAsync() => StartAsync(StoreKind.Sqlite);

    /// <summary>Starts the broker, creates the topic and opens a fresh database of <paramref name="kind"/> (skips the
    /// test locally, fails it under CI, when its server is not available).</summary>
    public static async Task<DualWriteHarness> StartAsync(StoreKind kind)
    {
        var directory = new TempDirectory("dualwrite");
        IOrderDatabase? database = null;
        KafkaBroker? broker = null;
        try
        {
            database = await TestStores.OpenFreshAsync(kind, directory);
            broker = await KafkaBroker.StartAsync(new BrokerOptions
            {
                DataDirectory = directory.Combine("broker"),
                Listen = "127.0.0.1:0",
                Settings = { ["lockstep.durability"] = "os" },
            });
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build())
            {
                await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = 3, ReplicationFactor = 1 }]);
            }

            return new DualWriteHarness(directory, broker, kind, database);
        }
        catch
        {
            if (broker is not null)
            {
                await broker.DisposeAsync();
            }

            if (database is not null)
            {
                await database.DisposeAsync();
            }

            directory.Dispose();
            throw;
        }
    }

    public DualWriter CreateWriter(string transactionalId, IDualWriteObserver? observer = null, IDualWriteStore? store = null) =>
        new(store ?? Database.Store, new DualWriterOptions
        {
            TransactionalId = transactionalId,
            BootstrapServers = Bootstrap,
            ConfigureProducer = o => o.Linger = TimeSpan.Zero,
            Observer = observer,
        });

    /// <summary>The demo's unit of work on a SQLite harness: INSERT the order, produce OrderPlaced keyed by the order
    /// id (see <see cref="PlaceAsync"/> for any store).</summary>
    public static Task PlaceOrderAsync(DualWriter writer, int orderId, CancellationToken cancellationToken = default) =>
        writer.ExecuteAsync(async (context, ct) =>
        {
            await using (var insert = context.CreateCommand("INSERT INTO orders (order_id, amount_cents, placed_by) VALUES ($id, 100, $by);"))
            {
                insert.Parameters.Add(new SqliteParameter("$id", orderId));
                insert.Parameters.Add(new SqliteParameter("$by", context.TransactionalId));
                await insert.ExecuteNonQueryAsync(ct);
            }

            await context.ProduceAsync(new Client.ProducerRecord(Topic, Key(orderId), Encoding.UTF8.GetBytes("OrderPlaced")), ct);
        }, cancellationToken);

    public static byte[] Key(int orderId) => Encoding.UTF8.GetBytes(orderId.ToString(CultureInfo.InvariantCulture));

    /// <summary>The demo's unit of work on any store: the order through <see cref="IOrderDatabase.InsertOrderAsync"/>,
    /// OrderPlaced keyed by the order id.</summary>
    public Task PlaceAsync(DualWriter writer, int orderId, CancellationToken cancellationToken = default) =>
        writer.ExecuteAsync(async (context, ct) =>
        {
            await Database.InsertOrderAsync(context, orderId, 100, ct);
            await context.ProduceAsync(new Client.ProducerRecord(Topic, Key(orderId), Encoding.UTF8.GetBytes("OrderPlaced")), ct);
        }, cancellationToken);

    /// <summary>The committed order ids, ascending.</summary>
    public async Task<List<int>> ReadRowsAsync() =>
        [.. (await Database.ReadOrderIdsAsync(CancellationToken.None)).Order()];

    public async Task<string?> ReadStoredTokenAsync(string transactionalId) =>
        await Database.Store.ReadCommittedTokenAsync(transactionalId, CancellationToken.None);

    /// <summary>Every event a read_committed consumer sees, sorted (duplicates kept), reading to the last stable
    /// offset of each partition and then 500 ms more so a commit marker still in flight cannot cut the read short.
    /// </summary>
    public Task<List<int>> ReadCommittedEventsAsync() => CommittedEvents.ReadOrderIdsAsync(Bootstrap, Topic, 3);

    /// <summary>The core assertion of the recipe: committed rows and read_committed events are the same set, each
    /// event exactly once.</summary>
    public async Task AssertRowsEqualEventsAsync(int? expectedCount = null)
    {
        var rows = await ReadRowsAsync();
        var events = await ReadCommittedEventsAsync();
        Assert.Equal(rows, events);
        if (expectedCount is { } count)
        {
            Assert.Equal(count, rows.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        await Database.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    /// <summary>What a CLI child process did.</summary>
    public sealed record CliRun(int ExitCode, string FirstLine, string Output, string Error);

    /// <summary>Runs <c>dotnet lockstep.dll ARGS</c> to its end (killing its process tree after
    /// <paramref name="timeout"/>, which fails the test: a hang is a bug, not a slow run).</summary>
    public static async Task<CliRun> RunCliAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        Assert.True(File.Exists(CliAssembly), $"{CliAssembly} is missing: the project reference to Lockstep.Cli copies it.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliAssembly);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lockstep {string.Join(' ', start.ArgumentList.Skip(1))} did not finish within {timeout}");
        }

        var output = await stdout;
        return new CliRun(process.ExitCode, output.Split('\n')[0].Trim(), output, await stderr);
    }
}
