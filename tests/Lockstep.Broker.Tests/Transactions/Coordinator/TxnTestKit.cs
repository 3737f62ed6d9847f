using System.Collections.Concurrent;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Messages;
using Lockstep.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.Broker.Tests.Transactions.Coordinator;

/// <summary>Raw-protocol helpers for the transaction-coordinator tests.</summary>
internal static class TxnTestKit
{
    public const int TimeoutMs = 60_000;
    public const short InitVersion = 5;
    public const short TwoPcInitVersion = 6;
    public const short AddVersion = 3;
    public const short Tv1EndVersion = 4;
    public const short Tv2EndVersion = 5;

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    public static TransactionCoordinator CoordinatorOf(BrokerHarness harness) =>
        (TransactionCoordinator)(harness.Broker.Core.TransactionVerifier ?? throw new InvalidOperationException("no coordinator"));

    /// <summary>Wraps the broker's marker writer with a <see cref="MarkerRecorder"/>.</summary>
    public static MarkerRecorder RecordMarkers(BrokerHarness harness)
    {
        var coordinator = CoordinatorOf(harness);
        var recorder = new MarkerRecorder(coordinator.MarkerWriter);
        coordinator.MarkerWriter = recorder;
        return recorder;
    }

    public static Task<InitProducerIdResponse> InitAsync(RawKafkaClient client, string id, short version = InitVersion,
        int timeoutMs = TimeoutMs, bool enable2Pc = false, bool keep = false, long producerId = -1, short epoch = -1) =>
        client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest
        {
            TransactionalId = id,
            TransactionTimeoutMs = timeoutMs,
            ProducerId = producerId,
            ProducerEpoch = epoch,
            Enable2Pc = enable2Pc,
            KeepPreparedTxn = keep,
        }, version);

    /// <summary>InitProducerId that retries CONCURRENT_TRANSACTIONS (what clients do) and must then succeed.</summary>
    public static async Task<InitProducerIdResponse> InitOkAsync(RawKafkaClient client, string id, short version = InitVersion,
        int timeoutMs = TimeoutMs, bool enable2Pc = false, bool keep = false, long producerId = -1, short epoch = -1)
    {
        for (var attempt = 0; ; attempt++)
        {
            var response = await InitAsync(client, id, version, timeoutMs, enable2Pc, keep, producerId, epoch);
            if (response.ErrorCode == (short)ErrorCode.ConcurrentTransactions && attempt < 5)
            {
                continue;
            }

            Assert.Equal(ErrorCode.None, (ErrorCode)response.ErrorCode);
            return response;
        }
    }

    /// <summary>AddPartitionsToTxn (client form); returns the single error every partition carries.</summary>
    public static async Task<ErrorCode> AddAsync(RawKafkaClient client, string id, long producerId, short epoch,
        string topic = "t", short version = AddVersion, params int[] partitions)
    {
        var response = await client.SendAsync<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = id,
            V3AndBelowProducerId = producerId,
            V3AndBelowProducerEpoch = epoch,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic, Partitions = partitions.Length == 0 ? [0] : [.. partitions] }],
        }, version);
        var errors = response.ResultsByTopicV3AndBelow.SelectMany(t => t.ResultsByPartition).Select(p => (ErrorCode)p.PartitionErrorCode).Distinct().ToList();
        return Assert.Single(errors);
    }

    public static Task<EndTxnResponse> EndAsync(RawKafkaClient client, string id, long producerId, short epoch, bool commit,
        short version = Tv1EndVersion) =>
        client.SendAsync<EndTxnRequest, EndTxnResponse>(new EndTxnRequest
        {
            TransactionalId = id,
            ProducerId = producerId,
            ProducerEpoch = epoch,
            Committed = commit,
        }, version);

    public static async Task<DescribeTransactionsResponse.TransactionStateData> DescribeAsync(RawKafkaClient client, string id)
    {
        var response = await client.SendAsync<DescribeTransactionsRequest, DescribeTransactionsResponse>(
            new DescribeTransactionsRequest { TransactionalIds = [id] }, 0);
        return Assert.Single(response.TransactionStates);
    }

    /// <summary>Polls DescribeTransactions until <paramref name="id"/> is in <paramref name="state"/> (background work).</summary>
    public static async Task<DescribeTransactionsResponse.TransactionStateData> WaitForStateAsync(RawKafkaClient client, string id, string state)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (true)
        {
            var described = await DescribeAsync(client, id);
            if (described.TransactionState == state || DateTime.UtcNow > deadline)
            {
                Assert.Equal(state, described.TransactionState);
                return described;
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Begins a transaction: InitProducerId then AddPartitionsToTxn for partition 0 of <paramref name="topic"/>.</summary>
    public static async Task<(long ProducerId, short Epoch)> BeginAsync(RawKafkaClient client, string id, string topic = "t",
        bool enable2Pc = false, int timeoutMs = TimeoutMs)
    {
        var init = await InitOkAsync(client, id, enable2Pc ? TwoPcInitVersion : InitVersion, timeoutMs, enable2Pc);
        Assert.Equal(ErrorCode.None, await AddAsync(client, id, init.ProducerId, init.ProducerEpoch, topic));
        return (init.ProducerId, init.ProducerEpoch);
    }

    /// <summary>
    /// Writes transaction-log records into a fresh in-memory data directory before any broker starts, as a previous
    /// broker would have: the recovery path then loads them (used to reach states such as an exhausted epoch
    /// without 32 000 requests).
    /// </summary>
    public static async Task<InMemoryFileSystem> SeedAsync(params (string Id, TxnSnapshot Snapshot)[] records)
    {
        var fs = new InMemoryFileSystem();
        await using var logs = new LogManager(fs, "/data/logs", new LogConfig(), TimeProvider.System, NullLoggerFactory.Instance);
        var log = logs.GetOrCreateLog(new TopicPartition(TransactionLog.TopicName, 0));
        var txnLog = new TransactionLog(log, KafkaCompression.CreateRegistry());
        foreach (var (id, snapshot) in records)
        {
            await txnLog.AppendAsync(id, snapshot, 2, 1_700_000_000_000);
        }

        return fs;
    }
}

/// <summary>One marker the coordinator wrote.</summary>
internal readonly record struct WrittenMarker(TopicPartition Partition, long ProducerId, short Epoch, bool Commit, int CoordinatorEpoch, short TransactionVersion);

/// <summary>
/// Records every marker and can hold them back (<see cref="Hold"/>): while held, a transaction stays in
/// PrepareCommit/PrepareAbort, which is otherwise too short-lived to observe.
/// </summary>
internal sealed class MarkerRecorder(ITransactionMarkerWriter inner) : ITransactionMarkerWriter
{
    private readonly Lock _lock = new();
    private TaskCompletionSource? _gate;
    private TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<WrittenMarker> Written { get; } = new();

    /// <summary>From now on markers wait until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Completes when a marker is waiting at the gate (the Prepare* record is durable by then).</summary>
    public Task Blocked
    {
        get
        {
            lock (_lock)
            {
                return _blocked.Task.WaitAsync(TimeSpan.FromSeconds(15));
            }
        }
    }

    public void Release()
    {
        TaskCompletionSource? gate;
        lock (_lock)
        {
            gate = _gate;
            _gate = null;
        }

        gate?.TrySetResult();
    }

    public async ValueTask<ErrorCode> WriteAsync(TopicPartition partition, long producerId, short producerEpoch, bool commit,
        int coordinatorEpoch, short transactionVersion, CancellationToken cancellationToken)
    {
        Task? wait = null;
        lock (_lock)
        {
            if (_gate is { } gate)
            {
                _blocked.TrySetResult();
                wait = gate.Task;
            }
        }

        if (wait is not null)
        {
            await wait.WaitAsync(cancellationToken);
        }

        var error = await inner.WriteAsync(partition, producerId, producerEpoch, commit, coordinatorEpoch, transactionVersion, cancellationToken);
        Written.Enqueue(new WrittenMarker(partition, producerId, producerEpoch, commit, coordinatorEpoch, transactionVersion));
        return error;
    }
}
