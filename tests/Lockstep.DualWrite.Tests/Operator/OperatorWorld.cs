using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lockstep.Broker;
using Lockstep.Cli.Demo;
using Lockstep.Client;
using Lockstep.Client.Admin;
using Lockstep.Testing;

namespace Lockstep.DualWrite.Tests.Operator;

/// <summary>
/// One operator/broker-restart test's world, for any store: an embedded broker on a loopback port with its own data
/// directory (restartable on the same directory and port), the <c>orders</c> topic, a fresh
/// <see cref="IOrderDatabase"/> of the store under test, and the two views to compare — committed order rows and what
/// an independent read_committed consumer (librdkafka, via the demo's <see cref="EventVerifier"/>) sees.
/// </summary>
internal sealed class OperatorWorld : IAsyncDisposable
{
    public const string Topic = "orders";

    private const int SigKillExitCode = 137;

    private readonly TempDirectory _directory;
    private readonly string _brokerDirectory;

    private OperatorWorld(TempDirectory directory, KafkaBroker broker, IOrderDatabase database, string spec)
    {
        _directory = directory;
        _brokerDirectory = directory.Combine("broker");
        Broker = broker;
        Database = database;
        Spec = spec;
    }

    public KafkaBroker? Broker { get; private set; }

    public IOrderDatabase Database { get; }

    /// <summary>The <c>--db</c> / <c>--store</c> value of <see cref="Database"/> for child processes.</summary>
    public string Spec { get; }

    public required string Bootstrap { get; init; }

    public static string CliAssembly => Path.Combine(AppContext.BaseDirectory, "lockstep.dll");

    public static async Task<OperatorWorld> StartAsync(StoreKind kind)
    {
        var directory = new TempDirectory("operator");
        var spec = TestStores.FreshSpec(kind, directory);
        var database = OrderDatabases.Open(spec);
        await database.EnsureSchemaAsync(TestContext.Current.CancellationToken);
        var broker = await StartBrokerAsync(directory.Combine("broker"), "127.0.0.1:0");
        var world = new OperatorWorld(directory, broker, database, database.WorkerSpec) { Bootstrap = broker.BootstrapServers };
        var admin = new KafkaAdminClient(new KafkaAdminClientOptions { BootstrapServers = world.Bootstrap });
        await using (admin)
        {
            await admin.CreateTopicsAsync([new NewTopic(Topic, 3, 1)], cancellationToken: TestContext.Current.CancellationToken);
        }

        return world;
    }

    private static Task<KafkaBroker> StartBrokerAsync(string dataDirectory, string listen) =>
        KafkaBroker.StartAsync(new BrokerOptions
        {
            DataDirectory = dataDirectory,
            Listen = listen,
            Settings = { ["lockstep.durability"] = "os" },
        });

    /// <summary>Stops the broker cleanly (as <c>lockstep broker</c> does on SIGTERM); clients see connections drop.</summary>
    public async Task StopBrokerAsync()
    {
        var broker = Broker ?? throw new InvalidOperationException("the broker is not running");
        Broker = null;
        await broker.DisposeAsync();
    }

    /// <summary>Starts the broker again on the same data directory and the same port, so clients reconnect to the
    /// bootstrap address they already have.</summary>
    public async Task RestartBrokerAsync()
    {
        Assert.Null(Broker);
        Broker = await StartBrokerAsync(_brokerDirectory, Bootstrap);
        Assert.Equal(Bootstrap, Broker.BootstrapServers);
    }

    public DualWriter CreateWriter(string transactionalId, Action<KafkaProducerOptions>? configure = null) =>
        new(Database.Store, new DualWriterOptions
        {
            TransactionalId = transactionalId,
            BootstrapServers = Bootstrap,
            ConfigureProducer = options =>
            {
                options.Linger = TimeSpan.Zero;
                configure?.Invoke(options);
            },
        });

    /// <summary>The demo's unit of work: the order row and its OrderPlaced event keyed by the order id.</summary>
    public Task PlaceOrderAsync(DualWriter writer, int orderId, CancellationToken cancellationToken) =>
        writer.ExecuteAsync(async (context, ct) =>
        {
            await Database.InsertOrderAsync(context, orderId, 100, ct);
            await context.ProduceAsync(new ProducerRecord(Topic, Key(orderId), Encoding.UTF8.GetBytes("OrderPlaced")), ct);
        }, cancellationToken);

    public static byte[] Key(int orderId) => Encoding.UTF8.GetBytes(orderId.ToString(CultureInfo.InvariantCulture));

    public async Task<List<int>> ReadRowsAsync() =>
        [.. (await Database.ReadOrderIdsAsync(TestContext.Current.CancellationToken)).Order()];

    /// <summary>Every event a read_committed consumer sees, sorted, duplicates kept.</summary>
    public async Task<List<int>> ReadCommittedEventsAsync()
    {
        var ids = await EventVerifier.ReadCommittedOrderIdsAsync(Bootstrap, Topic, TimeSpan.FromSeconds(30),
            TestContext.Current.CancellationToken);
        ids.Sort();
        return ids;
    }

    /// <summary>Runs the CLI's hidden <c>demo-worker</c> (a DualWriter over <see cref="Spec"/>) for orders
    /// <paramref name="first"/>..<paramref name="last"/> and SIGKILLs it right after <paramref name="killAt"/>'s
    /// <paramref name="occurrence"/>-th completion: a writer process dying at a recipe step boundary.</summary>
    public async Task KillWorkerAtAsync(string transactionalId, int first, int last, DualWriteStep killAt, int occurrence)
    {
        var run = await RunCliAsync(
        [
            "demo-worker", "--bootstrap", Bootstrap, "--db", Spec, "--transactional-id", transactionalId,
            "--first", first.ToString(CultureInfo.InvariantCulture), "--last", last.ToString(CultureInfo.InvariantCulture),
            "--kill-at-step", ((int)killAt).ToString(CultureInfo.InvariantCulture),
            "--kill-at-occurrence", occurrence.ToString(CultureInfo.InvariantCulture),
        ]);
        Assert.True(run.ExitCode == SigKillExitCode,
            $"worker {transactionalId} was meant to die by SIGKILL after {killAt}: exit {run.ExitCode}\n{run.Output}\n{run.Error}");
    }

    public Task<CliRun> RunTransactionsAsync(params string[] args) =>
        RunCliAsync(["transactions", .. args, "--bootstrap", Bootstrap]);

    /// <summary>Runs <c>dotnet lockstep.dll ARGS</c> with stdin closed (no terminal: prompts must not wait).</summary>
    public static async Task<CliRun> RunCliAsync(IReadOnlyList<string> args)
    {
        Assert.True(File.Exists(CliAssembly), $"{CliAssembly} is missing: the project reference to Lockstep.Cli copies it.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
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
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lockstep {string.Join(' ', args)} did not finish within a minute");
        }

        var run = new CliRun(string.Join(' ', args), process.ExitCode, await stdout, await stderr);
        TestContext.Current.TestOutputHelper?.WriteLine(run.ToString());
        return run;
    }

    public async ValueTask DisposeAsync()
    {
        if (Broker is { } broker)
        {
            await broker.DisposeAsync();
        }

        await Database.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}

/// <summary>One finished CLI run.</summary>
internal sealed record CliRun(string CommandLine, int ExitCode, string Output, string Error)
{
    /// <summary>For assertion messages.</summary>
    public override string ToString() => $"lockstep {CommandLine} → exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}
