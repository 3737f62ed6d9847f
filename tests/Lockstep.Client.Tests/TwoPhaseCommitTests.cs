using System.Diagnostics;
using System.Text;
using Lockstep.Client.Tests.Harness;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests;

/// <summary>
/// Goal: the KIP-939 client API of issue 5 item 4 (kip939-spec.md §3): prepare returns the "pid:epoch" token;
/// a new incarnation re-attaches with keepPreparedTransaction and sees the same token; CompleteTransactionAsync
/// commits with the matching token and aborts with a stale one; operations are refused while prepared; a broker
/// without 2PC makes InitTransactionsAsync fail fast with a message naming the capability. Method: transactional
/// producers with transaction.two.phase.commit.enable=true against the embedded broker; "crash" = dispose without
/// completing (the token survives only as text, as it would in a database).
/// </summary>
public sealed class TwoPhaseCommitTests
{
    private static KafkaProducerOptions TwoPhaseOptions(ClientTestBroker broker, string transactionalId)
    {
        var options = broker.ProducerOptions();
        options.TransactionalId = transactionalId;
        options.TransactionTwoPhaseCommitEnable = true;
        return options;
    }

    private static async Task<string> PrepareOneAsync(ClientTestBroker broker, string transactionalId, string value)
    {
        // First incarnation: produce, prepare, store the token as text, then "crash" without completing.
        await using var producer = new KafkaProducer(TwoPhaseOptions(broker, transactionalId));
        await producer.InitTransactionsAsync(Ct);
        producer.BeginTransaction();
        await producer.ProduceAsync(new ProducerRecord("twopc", null, Encoding.UTF8.GetBytes(value)) { Partition = 0 }, Ct);
        var token = await producer.PrepareTransactionAsync(Ct);
        Assert.True(producer.IsPrepared);
        Assert.Equal(token, producer.PreparedTransaction);
        Assert.Matches("^[0-9]+:[0-9]+$", token.ToString());
        return token.ToString();
    }

    private static async Task<List<string>> CommittedAsync(ClientTestBroker broker)
    {
        await using var client = broker.RawClient();
        var (records, _, _) = await LogReader.ReadAsync(client, "twopc", 0, isolationLevel: 1);
        return records.Select(r => Encoding.UTF8.GetString(r.Value!)).ToList();
    }

    [Fact]
    public async Task Recovered_prepared_transaction_commits_with_the_matching_token()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        var stored = await PrepareOneAsync(broker, "2pc-commit", "prepared");
        Assert.Empty(await CommittedAsync(broker)); // still open: read_committed sees nothing

        await using var recovered = new KafkaProducer(TwoPhaseOptions(broker, "2pc-commit"));
        await recovered.InitTransactionsAsync(keepPreparedTransaction: true, Ct);
        Assert.Equal(PreparedTransactionState.Parse(stored), recovered.PreparedTransaction);

        // While prepared, new work is refused with a clear message.
        var send = await Assert.ThrowsAsync<InvalidOperationException>(() => recovered.ProduceAsync("twopc", null, [1], Ct));
        Assert.Contains("prepared", send.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(recovered.BeginTransaction);
        await Assert.ThrowsAsync<InvalidOperationException>(() => recovered.PrepareTransactionAsync(Ct));

        await recovered.CompleteTransactionAsync(PreparedTransactionState.Parse(stored), Ct);
        Assert.False(recovered.IsPrepared);
        Assert.Equal(["prepared"], await CommittedAsync(broker));

        // Completing again is a successful no-op (divergence from Java, documented on the method).
        await recovered.CompleteTransactionAsync(PreparedTransactionState.Parse(stored), Ct);

        // The producer carries on with normal transactions.
        recovered.BeginTransaction();
        await recovered.ProduceAsync(new ProducerRecord("twopc", null, "next"u8.ToArray()) { Partition = 0 }, Ct);
        await recovered.CommitTransactionAsync(Ct);
        Assert.Equal(["prepared", "next"], await CommittedAsync(broker));
    }

    [Fact]
    public async Task Recovered_prepared_transaction_aborts_with_a_stale_token()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        var first = await PrepareOneAsync(broker, "2pc-abort", "old");

        // The external decision log holds a token from some other transaction (e.g. an earlier one).
        var stale = PreparedTransactionState.Parse(first);
        stale = PreparedTransactionState.Parse($"{stale.ProducerId}:{stale.Epoch + 100}");

        await using var recovered = new KafkaProducer(TwoPhaseOptions(broker, "2pc-abort"));
        await recovered.InitTransactionsAsync(keepPreparedTransaction: true, Ct);
        Assert.Equal(PreparedTransactionState.Parse(first), recovered.PreparedTransaction);
        await recovered.CompleteTransactionAsync(stale, Ct);

        Assert.False(recovered.IsPrepared);
        Assert.Empty(await CommittedAsync(broker));
        await using var client = broker.RawClient();
        var (all, highWatermark, lastStable) = await LogReader.ReadAsync(client, "twopc", 0, isolationLevel: 0);
        Assert.Equal(["old"], all.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(highWatermark, lastStable); // the abort marker closed the transaction
    }

    [Fact]
    public async Task Prepare_then_commit_in_the_same_incarnation()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await using var producer = new KafkaProducer(TwoPhaseOptions(broker, "2pc-inline"));
        await producer.InitTransactionsAsync(Ct);
        producer.BeginTransaction();
        await producer.ProduceAsync(new ProducerRecord("twopc", null, "inline"u8.ToArray()) { Partition = 0 }, Ct);
        var token = await producer.PrepareTransactionAsync(Ct);
        await producer.CompleteTransactionAsync(token, Ct);
        Assert.Equal(["inline"], await CommittedAsync(broker));
    }

    [Fact]
    public async Task Broker_without_two_phase_commit_fails_fast_with_the_missing_capability()
    {
        await using var broker = await ClientTestBroker.StartAsync(
            new Dictionary<string, string> { ["transaction.two.phase.commit.enable"] = "false" });
        await using var producer = new KafkaProducer(TwoPhaseOptions(broker, "2pc-off"));
        var watch = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<BrokerCapabilityException>(() =>
            producer.InitTransactionsAsync(keepPreparedTransaction: true, Ct));
        watch.Stop();

        Assert.Equal("InitProducerId v6", ex.MissingCapability);
        Assert.Contains("does not support KIP-939 two-phase commit: InitProducerId v6 not advertised", ex.Message,
            StringComparison.Ordinal);
        Assert.Contains("transaction.two.phase.commit.enable", ex.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");

        // Nothing was changed: InitTransactionsAsync can be called again (and fails the same way, never hangs).
        await Assert.ThrowsAsync<BrokerCapabilityException>(() => producer.InitTransactionsAsync(Ct));
    }
}
