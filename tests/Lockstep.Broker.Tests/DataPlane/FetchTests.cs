using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;

namespace Lockstep.Broker.Tests.DataPlane;

/// <summary>
/// Fetch, ListOffsets, DeleteRecords and OffsetForLeaderEpoch: whole-batch reads, byte limits with Kafka's
/// first-batch rule, long polling woken by an append (no timing assertions: the fetch is awaited with a bound far
/// below its MaxWaitMs), offsets by time, log-start advancement and leader-epoch answers.
/// </summary>
public sealed class FetchTests
{
    [Fact]
    public async Task Fetch_from_the_middle_of_a_batch_returns_the_whole_batch()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceAsync(client, "t", Batch(5));
        await ProduceAsync(client, "t", Batch(5));

        var data = await FetchAsync(client, Fetch("t", 7));
        var batch = Assert.Single(Batches(data.Records));
        Assert.Equal(5, batch.BaseOffset);
        Assert.Equal(5, batch.RecordCount);
        Assert.Equal(0, batch.PartitionLeaderEpoch);
        Assert.Equal(10, data.HighWatermark);
        Assert.Equal(10, data.LastStableOffset);
        Assert.Equal(0, data.LogStartOffset);
        Assert.Null(data.AbortedTransactions);
        Assert.Equal(-1, data.PreferredReadReplica);
    }

    [Fact]
    public async Task Fetch_returns_the_first_batch_even_above_the_limits_but_no_more()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceAsync(client, "t", Batch(2, valueSize: 300));
        await ProduceAsync(client, "t", Batch(2, valueSize: 300));

        var tinyPartitionLimit = await FetchAsync(client, Fetch("t", 0, partitionMaxBytes: 10));
        Assert.Equal(0, Assert.Single(Batches(tinyPartitionLimit.Records)).BaseOffset);

        var tinyTotal = await FetchAsync(client, Fetch("t", 0, maxBytes: 10));
        Assert.Equal(0, Assert.Single(Batches(tinyTotal.Records)).BaseOffset);

        var roomy = await FetchAsync(client, Fetch("t", 0));
        Assert.Equal(2, Batches(roomy.Records).Count);
    }

    [Fact]
    public async Task Fetch_read_committed_returns_an_empty_aborted_transactions_list()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceAsync(client, "t", Batch(1));
        var request = Fetch("t", 0);
        request.IsolationLevel = 1;
        var data = await FetchAsync(client, request);
        Assert.NotNull(data.AbortedTransactions);
        Assert.Empty(data.AbortedTransactions);
        Assert.Single(Batches(data.Records));
    }

    [Fact]
    public async Task Long_poll_fetch_completes_when_a_batch_is_appended()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var consumer = await harness.ConnectAsync();
        await using var producer = await harness.ConnectAsync();
        await CreateTopicAsync(consumer, "t");

        var fetch = consumer.SendAsync<FetchRequest, FetchResponse>(Fetch("t", 0, maxWaitMs: 30_000, minBytes: 1), FetchVersion);
        await Task.Yield();
        Assert.False(fetch.IsCompleted, "nothing to read yet: the fetch must wait");
        await ProduceAsync(producer, "t", Batch(3));

        var response = await fetch.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var data = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(3, Assert.Single(Batches(data.Records)).RecordCount);
    }

    [Fact]
    public async Task Long_poll_fetch_times_out_with_an_empty_answer()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var data = await FetchAsync(client, Fetch("t", 0, maxWaitMs: 50, minBytes: 1));
        Assert.Empty(Batches(data.Records));
        Assert.Equal(0, data.HighWatermark);
    }

    [Fact]
    public async Task Fetch_errors_unknown_partition_offset_out_of_range_and_leader_epochs()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceAsync(client, "t", Batch(2));

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, (await FetchAsync(client, Fetch("missing", 0))).ErrorCode);
        var outOfRange = await FetchAsync(client, Fetch("t", 3));
        Assert.Equal((short)ErrorCode.OffsetOutOfRange, outOfRange.ErrorCode);
        Assert.Equal(-1, outOfRange.HighWatermark);

        var future = Fetch("t", 0);
        future.Topics[0].Partitions[0].CurrentLeaderEpoch = 1;
        Assert.Equal((short)ErrorCode.UnknownLeaderEpoch, (await FetchAsync(client, future)).ErrorCode);
        var current = Fetch("t", 0);
        current.Topics[0].Partitions[0].CurrentLeaderEpoch = 0;
        Assert.Equal((short)ErrorCode.None, (await FetchAsync(client, current)).ErrorCode);
    }

    [Fact]
    public async Task Incremental_fetch_session_is_FETCH_SESSION_ID_NOT_FOUND()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var request = Fetch("t", 0);
        request.SessionId = 42;
        request.SessionEpoch = 3;
        var response = await client.SendAsync<FetchRequest, FetchResponse>(request, FetchVersion);
        Assert.Equal((short)ErrorCode.FetchSessionIdNotFound, response.ErrorCode);

        var opening = Fetch("t", 0);
        opening.SessionEpoch = 0; // Java's "open a session": answered sessionless.
        var full = await client.SendAsync<FetchRequest, FetchResponse>(opening, FetchVersion);
        Assert.Equal((short)ErrorCode.None, full.ErrorCode);
        Assert.Equal(0, full.SessionId);
    }

    [Fact]
    public async Task ListOffsets_earliest_latest_max_and_by_timestamp()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceAsync(client, "t", Batch(3, timestamp: 1_000)); // 1000..1002
        await ProduceAsync(client, "t", Batch(3, timestamp: 5_000)); // 5000..5002
        await ProduceAsync(client, "t", Batch(1, timestamp: 2_000));

        Assert.Equal(0, await ListOffsetAsync(client, "t", -2));
        Assert.Equal(7, await ListOffsetAsync(client, "t", -1));
        Assert.Equal(7, await ListOffsetAsync(client, "t", -1, isolation: 1));
        Assert.Equal(3, await ListOffsetAsync(client, "t", 4_000));
        Assert.Equal(0, await ListOffsetAsync(client, "t", 0));
        Assert.Equal(-1, await ListOffsetAsync(client, "t", 9_000));
        Assert.Equal(5, await ListOffsetAsync(client, "t", -3)); // The record stamped 5002.
    }

    [Fact]
    public async Task DeleteRecords_advances_the_log_start_and_older_fetches_are_out_of_range()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceAsync(client, "t", Batch(4));
        await ProduceAsync(client, "t", Batch(4));

        var response = await client.SendAsync<DeleteRecordsRequest, DeleteRecordsResponse>(new DeleteRecordsRequest
        {
            TimeoutMs = 1000,
            Topics =
            [
                new DeleteRecordsRequest.DeleteRecordsTopic
                {
                    Name = "t",
                    Partitions =
                    [
                        new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 0, Offset = 4 },
                        new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 1, Offset = 4 },
                    ],
                },
            ],
        }, 2);
        var results = Assert.Single(response.Topics).Partitions;
        Assert.Equal((short)ErrorCode.None, results[0].ErrorCode);
        Assert.Equal(4, results[0].LowWatermark);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, results[1].ErrorCode);

        Assert.Equal(4, await ListOffsetAsync(client, "t", -2));
        Assert.Equal((short)ErrorCode.OffsetOutOfRange, (await FetchAsync(client, Fetch("t", 0))).ErrorCode);
        var fromStart = await FetchAsync(client, Fetch("t", 4));
        Assert.Equal(4, fromStart.LogStartOffset);
        Assert.Equal(4, Assert.Single(Batches(fromStart.Records)).BaseOffset);
    }

    [Fact]
    public async Task OffsetForLeaderEpoch_epoch_0_ends_at_the_log_end_offset()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await ProduceAsync(client, "t", Batch(3));

        var response = await client.SendAsync<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
        {
            Topics =
            [
                new OffsetForLeaderEpochRequest.OffsetForLeaderTopic
                {
                    Topic = "t",
                    Partitions =
                    [
                        new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 0, CurrentLeaderEpoch = 0, LeaderEpoch = 0 },
                        new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 0, CurrentLeaderEpoch = -1, LeaderEpoch = 3 },
                        new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 0, CurrentLeaderEpoch = 2, LeaderEpoch = 0 },
                    ],
                },
            ],
        }, 2);
        var results = Assert.Single(response.Topics).Partitions;
        Assert.Equal((0, 3L), (results[0].LeaderEpoch, results[0].EndOffset));
        Assert.Equal((-1, -1L), (results[1].LeaderEpoch, results[1].EndOffset));
        Assert.Equal((short)ErrorCode.UnknownLeaderEpoch, results[2].ErrorCode);
    }
}
