using System.Diagnostics;
using Confluent.Kafka;
using Lockstep.Client.Tests.Interop;
using static Lockstep.Client.Tests.Harness.TestToken;
using static Lockstep.Client.Tests.Interop.InteropSupport;

namespace Lockstep.Client.Tests;

/// <summary>
/// Goal: issue 5's KIP-939 cycle across a real process death (kip939-spec.md §3, §7.11): a transaction prepared by a
/// process that is then SIGKILLed is re-attached by a new incarnation with keepPreparedTransaction and (i) committed
/// exactly once with the matching token, (ii) aborted with a stale token; (iii) a predecessor still alive — prepared or
/// merely ongoing — is fenced (ProducerFencedException) once the new incarnation initialises. Method: the
/// Lockstep.Client.CrashWorker child process against the embedded broker on loopback; an independent librdkafka
/// read_committed consumer checks what became visible.
/// </summary>
[Trait("Issue", "5")]
public sealed class TwoPhaseCommitCrashTests
{
    private const string Topic = "crash";
    private const int SigKillExitCode = 137;

    private static string WorkerAssembly => Path.Combine(AppContext.BaseDirectory, "Lockstep.Client.CrashWorker.dll");

    private static KafkaProducerOptions RecoveryOptions(string bootstrap, string transactionalId) => new()
    {
        BootstrapServers = bootstrap,
        ClientId = "crash-recovery",
        TransactionalId = transactionalId,
        TransactionTwoPhaseCommitEnable = true,
        RetryBackoff = TimeSpan.FromMilliseconds(10),
        RetryBackoffMax = TimeSpan.FromMilliseconds(100),
        RequestTimeout = TimeSpan.FromSeconds(10),
        MaxBlock = TimeSpan.FromSeconds(20),
    };

    /// <summary>The worker process; stdout lines are read as they come, stderr is kept for failure messages.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _stderr;

        public Worker(string bootstrap, string transactionalId, string prefix, bool prepare)
        {
            Assert.True(File.Exists(WorkerAssembly), $"{WorkerAssembly} is missing: the project reference to Lockstep.Client.CrashWorker copies it.");
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(WorkerAssembly);
            foreach (var arg in new[] { "--bootstrap", bootstrap, "--transactional-id", transactionalId, "--topic", Topic, "--prefix", prefix, "--records", "3" })
            {
                start.ArgumentList.Add(arg);
            }

            if (!prepare)
            {
                start.ArgumentList.Add("--no-prepare");
            }

            _process = Process.Start(start)!;
            _stderr = _process.StandardError.ReadToEndAsync(Ct);
        }

        /// <summary>The next stdout line; fails the test (with the worker's stderr) on EOF or after the timeout.</summary>
        public async Task<string> ReadLineAsync()
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            limit.CancelAfter(WaitTimeout);
            string? line = null;
            try
            {
                line = await _process.StandardOutput.ReadLineAsync(limit.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
            }

            if (line is null)
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }

                Assert.Fail($"The crash worker printed no line (exited: {_process.HasExited}); stderr: {await _stderr}");
            }

            return line;
        }

        public async Task SendAsync(string command)
        {
            await _process.StandardInput.WriteLineAsync(command.AsMemory(), Ct);
            await _process.StandardInput.FlushAsync(Ct);
        }

        /// <summary>SIGKILL (Process.Kill on Unix), then waits for the exit: the producer gets no chance to clean up.</summary>
        public async Task<int> KillAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(Ct);
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }
    }

    /// <summary>Starts a worker and returns it once it printed the token of its prepared transaction.</summary>
    private static async Task<(Worker Worker, PreparedTransactionState Token)> PreparedWorkerAsync(
        string bootstrap, string transactionalId, string prefix)
    {
        var worker = new Worker(bootstrap, transactionalId, prefix, prepare: true);
        var line = await worker.ReadLineAsync();
        Assert.StartsWith("prepared ", line, StringComparison.Ordinal);
        return (worker, PreparedTransactionState.Parse(line["prepared ".Length..]));
    }

    private static Task<List<SeenRecord>> ReadCommittedAsync(string bootstrap) =>
        Task.Run(() => ConfluentReadAll(bootstrap, Topic, 1, IsolationLevel.ReadCommitted), Ct);

    private static Task<List<SeenRecord>> ReadUncommittedAsync(string bootstrap) =>
        Task.Run(() => ConfluentReadAll(bootstrap, Topic, 1, IsolationLevel.ReadUncommitted), Ct);

    private static IEnumerable<string?> Values(IEnumerable<SeenRecord> records) => records.Select(r => r.Value);

    private static async Task<TcpBroker> BrokerWithTopicAsync()
    {
        var broker = await TcpBroker.StartAsync("twopc-crash");
        await broker.CreateTopicAsync(Topic, 1);
        return broker;
    }

    [Fact]
    public async Task Killed_worker_prepared_transaction_commits_exactly_once_with_the_matching_token()
    {
        await using var broker = await BrokerWithTopicAsync();
        var (worker, token) = await PreparedWorkerAsync(broker.Bootstrap, "crash-commit", "kept");
        using (worker)
        {
            Assert.Equal(SigKillExitCode, await worker.KillAsync());
        }

        // Prepared, not committed: the transaction is pending, so read_committed sees nothing yet.
        Assert.Empty(await ReadCommittedAsync(broker.Bootstrap));

        // The new incarnation re-attaches and finds the same token the dead process printed (its "database").
        await using var recovered = new KafkaProducer(RecoveryOptions(broker.Bootstrap, "crash-commit"));
        await recovered.InitTransactionsAsync(keepPreparedTransaction: true, Ct);
        Assert.Equal(token, recovered.PreparedTransaction);
        await recovered.CompleteTransactionAsync(token, Ct);
        Assert.False(recovered.IsPrepared);

        var visible = await ReadCommittedAsync(broker.Bootstrap);
        Assert.Equal(["kept-0", "kept-1", "kept-2"], Values(visible));
        Assert.All(visible, r => Assert.Equal([("worker", (string?)"kept")], r.Headers));

        // Exactly once: completing again (a recovery routine re-run) neither duplicates nor loses anything.
        await recovered.CompleteTransactionAsync(token, Ct);
        Assert.Equal(["kept-0", "kept-1", "kept-2"], Values(await ReadCommittedAsync(broker.Bootstrap)));
    }

    [Fact]
    public async Task Killed_worker_prepared_transaction_aborts_with_a_stale_token()
    {
        await using var broker = await BrokerWithTopicAsync();

        // An earlier incarnation completed a 2PC transaction; its token is what the decision log still holds because
        // the worker below dies before its own decision is recorded.
        PreparedTransactionState stale;
        await using (var earlier = new KafkaProducer(RecoveryOptions(broker.Bootstrap, "crash-abort")))
        {
            await earlier.InitTransactionsAsync(Ct);
            earlier.BeginTransaction();
            await earlier.ProduceAsync(new ProducerRecord(Topic, null, Encode("earlier")) { Partition = 0 }, Ct);
            stale = await earlier.PrepareTransactionAsync(Ct);
            await earlier.CompleteTransactionAsync(stale, Ct);
        }

        var (worker, token) = await PreparedWorkerAsync(broker.Bootstrap, "crash-abort", "doomed");
        using (worker)
        {
            Assert.Equal(SigKillExitCode, await worker.KillAsync());
        }

        Assert.NotEqual(stale, token);
        await using var recovered = new KafkaProducer(RecoveryOptions(broker.Bootstrap, "crash-abort"));
        await recovered.InitTransactionsAsync(keepPreparedTransaction: true, Ct);
        Assert.Equal(token, recovered.PreparedTransaction);
        await recovered.CompleteTransactionAsync(stale, Ct);
        Assert.False(recovered.IsPrepared);

        // Aborted: invisible to read_committed, yet the records are in the log (the abort was real, not a no-op).
        Assert.Equal(["earlier"], Values(await ReadCommittedAsync(broker.Bootstrap)));
        Assert.Equal(["earlier", "doomed-0", "doomed-1", "doomed-2"], Values(await ReadUncommittedAsync(broker.Bootstrap)));
    }

    [Fact]
    public async Task Live_prepared_worker_is_fenced_when_a_new_incarnation_keeps_its_transaction()
    {
        await using var broker = await BrokerWithTopicAsync();
        var (worker, token) = await PreparedWorkerAsync(broker.Bootstrap, "crash-zombie", "zombie");
        using (worker)
        {
            await using var successor = new KafkaProducer(RecoveryOptions(broker.Bootstrap, "crash-zombie"));
            await successor.InitTransactionsAsync(keepPreparedTransaction: true, Ct);
            Assert.Equal(token, successor.PreparedTransaction);

            // The zombie (still alive, unaware) tries to commit with its old epoch: fenced.
            await worker.SendAsync("commit");
            Assert.StartsWith("failed ProducerFencedException:", await worker.ReadLineAsync(), StringComparison.Ordinal);
            Assert.Empty(await ReadCommittedAsync(broker.Bootstrap));

            // The decision belongs to the successor alone: it commits, and the records appear once.
            await successor.CompleteTransactionAsync(token, Ct);
            Assert.Equal(["zombie-0", "zombie-1", "zombie-2"], Values(await ReadCommittedAsync(broker.Bootstrap)));
        }
    }

    [Fact]
    public async Task Live_ongoing_worker_is_fenced_and_its_transaction_aborted_by_a_plain_init()
    {
        await using var broker = await BrokerWithTopicAsync();
        using var worker = new Worker(broker.Bootstrap, "crash-ongoing", "ongoing", prepare: false);
        Assert.Equal("ongoing", await worker.ReadLineAsync());

        // Without keepPreparedTransaction the new incarnation aborts whatever was left open and bumps the epoch.
        await using var successor = new KafkaProducer(RecoveryOptions(broker.Bootstrap, "crash-ongoing"));
        await successor.InitTransactionsAsync(Ct);
        Assert.False(successor.IsPrepared);

        // The zombie produces one more record and commits: fenced, and none of its records become visible.
        await worker.SendAsync("commit");
        Assert.StartsWith("failed ProducerFencedException:", await worker.ReadLineAsync(), StringComparison.Ordinal);
        Assert.Empty(await ReadCommittedAsync(broker.Bootstrap));
        Assert.Equal(["ongoing-0", "ongoing-1", "ongoing-2"], Values(await ReadUncommittedAsync(broker.Bootstrap)));
    }
}
