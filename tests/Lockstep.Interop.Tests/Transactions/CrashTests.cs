using System.Net;
using System.Text;
using Confluent.Kafka;
using Lockstep.Interop.Tests.Infrastructure;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;
using Lockstep.Testing;
using Lockstep.Transport;
using Lockstep.Transport.Sockets;
using KafkaError = Lockstep.Protocol.ErrorCode;

namespace Lockstep.Interop.Tests.Transactions;

/// <summary>
/// Goal (issue 4 "Crash"): a SIGKILL of the broker loses no transaction state. Method: the `lockstep broker` CLI as a
/// child process (default durability fsync, transaction.two.phase.commit.enable default true). Before the kill,
/// partition 0 holds, in log order, a committed transaction, an aborted one, an Ongoing one (Confluent.Kafka
/// producer, records acknowledged, never ended) and a committed one started after it; partition 1 holds a prepared
/// KIP-939 two-phase-commit transaction written through the raw protocol (InitProducerId v6 Enable2Pc,
/// AddPartitionsToTxn, a transactional Produce, no EndTxn). After SIGKILL and a restart on the same data directory:
/// read_committed sees the first committed transaction only (the LSO is pinned by the Ongoing one, which also hides
/// the later commit); the coordinator still reports both open transactions as Ongoing with the same producer id and
/// epoch; a new producer with the Ongoing transaction's id (InitProducerId) aborts it, after which both committed
/// transactions and nothing else are visible; the prepared 2PC transaction is recovered by a keepPreparedTxn init
/// (kip939-spec.md §7.11), which returns the kept producer id/epoch, and EndTxn(commit) from the returned epoch
/// makes its records visible.
/// </summary>
public sealed class CrashTests
{
    private const string Topic = "txn-crash";
    private const string TwoPcId = "crash-2pc";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Sigkill_keeps_committed_aborted_ongoing_and_prepared_2pc_transactions_consistent()
    {
        var log = new TestLog();
        using var data = new TempDirectory("txn-crash");
        var broker = await BrokerProcess.StartAsync(data.Path, log);
        try
        {
            var port = broker.Port;
            await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, Topic, partitions: 2);

            // Partition 0: committed, aborted, then an Ongoing transaction, then a commit by another producer.
            using (var main = BuildTransactional(broker.BootstrapServers, "crash-main", log))
            {
                main.InitTransactions(Timeout);
                await ProduceTransactionAsync(main, "committed", commit: true);
                await ProduceTransactionAsync(main, "aborted", commit: false);
            }

            var ongoing = BuildTransactional(broker.BootstrapServers, "crash-ongoing", log);
            ongoing.InitTransactions(Timeout);
            ongoing.BeginTransaction();
            for (var i = 0; i < 3; i++)
            {
                // Awaited: each record is acknowledged (durable) before the kill, so the open transaction is in the
                // log, not only in the client.
                await ongoing.ProduceAsync(new TopicPartition(Topic, 0), Record("ongoing", i), TestContext.Current.CancellationToken);
            }

            using (var late = BuildTransactional(broker.BootstrapServers, "crash-late", log))
            {
                late.InitTransactions(Timeout);
                await ProduceTransactionAsync(late, "late", commit: true);
            }

            // Partition 1: a prepared two-phase-commit transaction through the raw protocol.
            long twoPcProducerId;
            short twoPcEpoch;
            await using (var raw = await RawClient.ConnectAsync(broker.Port))
            {
                var versions = await raw.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 3);
                Assert.Equal(6, versions.ApiKeys.Single(k => k.ApiKey == (short)ApiKey.InitProducerId).MaxVersion);

                var init = await InitAsync(raw, enable2Pc: true, keep: false);
                Assert.Equal(KafkaError.None, (KafkaError)init.ErrorCode);
                (twoPcProducerId, twoPcEpoch) = (init.ProducerId, init.ProducerEpoch);
                var add = await raw.SendAsync<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
                {
                    V3AndBelowTransactionalId = TwoPcId,
                    V3AndBelowProducerId = twoPcProducerId,
                    V3AndBelowProducerEpoch = twoPcEpoch,
                    V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = Topic, Partitions = [1] }],
                }, 3);
                Assert.Equal(KafkaError.None, (KafkaError)add.ResultsByTopicV3AndBelow.Single().ResultsByPartition.Single().PartitionErrorCode);
                var produced = await ProduceTwoPcAsync(raw, twoPcProducerId, twoPcEpoch);
                Assert.Equal(KafkaError.None, (KafkaError)produced.ErrorCode);
                Assert.Equal("Ongoing", (await DescribeAsync(raw, TwoPcId)).TransactionState);
            }

            await broker.KillAsync();
            // Dispose the Ongoing producer while the broker is down, so nothing it does on close (it cannot reach
            // the broker) can end the transaction: only the coordinator's recovered state decides its fate.
            ongoing.Dispose();
            await broker.DisposeAsync();
            broker = await BrokerProcess.StartAsync(data.Path, log, port, bindRetry: TimeSpan.FromSeconds(30));

            await using (var raw = await RawClient.ConnectAsync(broker.Port))
            {
                // The coordinator recovered both open transactions from its log, as they were.
                var twoPc = await DescribeAsync(raw, TwoPcId);
                Assert.Equal("Ongoing", twoPc.TransactionState);
                Assert.Equal((twoPcProducerId, twoPcEpoch), (twoPc.ProducerId, twoPc.ProducerEpoch));
                Assert.Equal(int.MaxValue, twoPc.TransactionTimeoutMs); // KIP-939: 2PC transactions have no timeout
                Assert.Equal([1], Assert.Single(twoPc.Topics, t => t.Topic == Topic).Partitions);
                Assert.Equal("Ongoing", (await DescribeAsync(raw, "crash-ongoing")).TransactionState);
                Assert.Equal("CompleteCommit", (await DescribeAsync(raw, "crash-late")).TransactionState);
                var listed = await raw.SendAsync<ListTransactionsRequest, ListTransactionsResponse>(
                    new ListTransactionsRequest { StateFilters = ["Ongoing"] }, 1);
                Assert.Equal([TwoPcId, "crash-ongoing"], listed.TransactionStates.Select(t => t.TransactionalId).Order(StringComparer.Ordinal));
            }

            // read_committed: the LSO of partition 0 is the Ongoing transaction's first offset, so only the first
            // committed transaction is visible; partition 1 shows nothing of the prepared transaction.
            Assert.Equal(Values("committed"), ReadCommitted(broker.BootstrapServers, 0, log));
            Assert.Empty(ReadCommitted(broker.BootstrapServers, 1, log));

            // Force-terminate the Ongoing transaction as Kafka does: InitProducerId with its transactional id aborts
            // it (librdkafka retries CONCURRENT_TRANSACTIONS while the abort completes).
            using (var fencer = BuildTransactional(broker.BootstrapServers, "crash-ongoing", log))
            {
                fencer.InitTransactions(Timeout);
            }

            Assert.Equal([.. Values("committed"), .. Values("late")], ReadCommitted(broker.BootstrapServers, 0, log));

            // Complete the prepared 2PC transaction from a new "application instance": keepPreparedTxn init, then
            // EndTxn(commit) from the epoch it returned.
            await using (var raw = await RawClient.ConnectAsync(broker.Port))
            {
                var keep = await InitAsync(raw, enable2Pc: true, keep: true);
                Assert.Equal(KafkaError.None, (KafkaError)keep.ErrorCode);
                Assert.Equal((twoPcProducerId, twoPcEpoch), (keep.OngoingTxnProducerId, keep.OngoingTxnProducerEpoch));
                Assert.Equal(twoPcProducerId, keep.ProducerId);
                Assert.True(keep.ProducerEpoch > twoPcEpoch, "the client-facing epoch is bumped so a zombie is fenced");
                Assert.Equal("Ongoing", (await DescribeAsync(raw, TwoPcId)).TransactionState);

                var end = await raw.SendAsync<EndTxnRequest, EndTxnResponse>(new EndTxnRequest
                {
                    TransactionalId = TwoPcId,
                    ProducerId = keep.ProducerId,
                    ProducerEpoch = keep.ProducerEpoch,
                    Committed = true,
                }, 4);
                Assert.Equal(KafkaError.None, (KafkaError)end.ErrorCode);
                Assert.Equal("CompleteCommit", (await DescribeAsync(raw, TwoPcId)).TransactionState);
            }

            Assert.Equal(Values("two-pc"), ReadCommitted(broker.BootstrapServers, 1, log));
            Assert.Equal([.. Values("committed"), .. Values("late")], ReadCommitted(broker.BootstrapServers, 0, log));
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    private static string[] Values(string tag) => [.. Enumerable.Range(0, 3).Select(i => $"{tag}-{i}")];

    private static Message<string, string> Record(string tag, int i) => new() { Key = tag, Value = $"{tag}-{i}" };

    private static IProducer<string, string> BuildTransactional(string bootstrap, string transactionalId, TestLog log)
    {
        var config = ConfluentClients.IdempotentProducer(bootstrap);
        config.TransactionalId = transactionalId;
        config.LingerMs = 0;
        return ConfluentClients.BuildProducer(config, log);
    }

    private static async Task ProduceTransactionAsync(IProducer<string, string> producer, string tag, bool commit)
    {
        producer.BeginTransaction();
        for (var i = 0; i < 3; i++)
        {
            await producer.ProduceAsync(new TopicPartition(Topic, 0), Record(tag, i), TestContext.Current.CancellationToken);
        }

        if (commit)
        {
            producer.CommitTransaction(Timeout);
        }
        else
        {
            producer.AbortTransaction(Timeout);
        }
    }

    /// <summary>
    /// Values a read_committed Confluent.Kafka consumer returns for one partition, from the beginning to the
    /// partition's end of file, which for read_committed is the last stable offset.
    /// </summary>
    private static List<string> ReadCommitted(string bootstrap, int partition, TestLog log)
    {
        var config = ConfluentClients.GroupConsumer(bootstrap, "unused-" + Guid.NewGuid().ToString("N"));
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        config.EnablePartitionEof = true;
        using var consumer = ConfluentClients.ConsumerBuilder(config, log, "read_committed").Build();
        consumer.Assign(new TopicPartitionOffset(Topic, partition, Offset.Beginning));
        var values = new List<string>();
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"read_committed of {Topic}[{partition}] did not reach its end; got {values.Count} records");
            var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (record is null)
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                break;
            }

            values.Add(record.Message.Value);
        }

        consumer.Close();
        return values;
    }

    private static Task<InitProducerIdResponse> InitAsync(RawClient raw, bool enable2Pc, bool keep) =>
        raw.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest
        {
            TransactionalId = TwoPcId,
            TransactionTimeoutMs = 60_000,
            Enable2Pc = enable2Pc,
            KeepPreparedTxn = keep,
        }, 6);

    private static async Task<ProduceResponse.PartitionProduceResponse> ProduceTwoPcAsync(RawClient raw, long producerId, short epoch)
    {
        byte[] batch;
        using (var builder = new RecordBatchBuilder
        {
            ProducerId = producerId,
            ProducerEpoch = epoch,
            BaseSequence = 0,
            IsTransactional = true,
        })
        {
            foreach (var value in Values("two-pc"))
            {
                builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes(value));
            }

            batch = builder.ToArray();
        }

        var response = await raw.SendAsync<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            TransactionalId = TwoPcId,
            Acks = -1,
            TimeoutMs = 30_000,
            TopicData =
            [
                new ProduceRequest.TopicProduceData
                {
                    Name = Topic,
                    PartitionData = [new ProduceRequest.PartitionProduceData { Index = 1, Records = batch }],
                },
            ],
        }, 11);
        return response.Responses.Single().PartitionResponses.Single();
    }

    private static async Task<DescribeTransactionsResponse.TransactionStateData> DescribeAsync(RawClient raw, string id)
    {
        var response = await raw.SendAsync<DescribeTransactionsRequest, DescribeTransactionsResponse>(
            new DescribeTransactionsRequest { TransactionalIds = [id] }, 0);
        var state = Assert.Single(response.TransactionStates);
        Assert.Equal(KafkaError.None, (KafkaError)state.ErrorCode);
        return state;
    }

    /// <summary>
    /// One request at a time over a TCP connection (Lockstep.Transport's socket connection), encoded and decoded by
    /// Lockstep.Protocol: exactly the bytes the test asks for, no retries (as the broker tests' RawKafkaClient).
    /// </summary>
    private sealed class RawClient(IConnection connection) : IAsyncDisposable
    {
        private int _correlationId;

        public static async Task<RawClient> ConnectAsync(int port) =>
            new(await new SocketConnectionFactory().ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)));

        public async Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, short version)
            where TRequest : IKafkaRequest<TRequest, TResponse>
            where TResponse : IKafkaMessage<TResponse>
        {
            var correlationId = ++_correlationId;
            var header = new RequestHeader
            {
                RequestApiKey = (short)TRequest.ApiKey,
                RequestApiVersion = version,
                CorrelationId = correlationId,
                ClientId = "crash-test",
            };
            var headerVersion = ApiMessages.RequestHeaderVersion(TRequest.ApiKey, version);
            FrameWriter.WriteFrame(
                connection.Output,
                (header, request, headerVersion, version),
                static (body, s) =>
                {
                    var writer = new KafkaWriter(body);
                    s.header.Write(ref writer, s.headerVersion);
                    s.request.Write(ref writer, s.version);
                    writer.Flush();
                });
            await connection.Output.FlushAsync().AsTask().WaitAsync(Timeout);
            using var frame = await FrameReader.ReadFrameAsync(connection).AsTask().WaitAsync(Timeout)
                ?? throw new InvalidOperationException("The broker closed the connection.");
            return Decode<TResponse>(frame.Memory, TRequest.ApiKey, version, correlationId);
        }

        private static TResponse Decode<TResponse>(ReadOnlyMemory<byte> frame, ApiKey apiKey, short version, int correlationId)
            where TResponse : IKafkaMessage<TResponse>
        {
            var reader = new KafkaReader(frame);
            var header = ResponseHeader.Read(ref reader, ApiMessages.ResponseHeaderVersion(apiKey, version));
            Assert.Equal(correlationId, header.CorrelationId);
            var response = TResponse.Read(ref reader, version);
            reader.ExpectEnd(typeof(TResponse).Name);
            return response;
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
