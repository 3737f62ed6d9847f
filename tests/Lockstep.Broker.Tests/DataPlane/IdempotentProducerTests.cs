using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;

namespace Lockstep.Broker.Tests.DataPlane;

/// <summary>
/// Idempotent producers (KIP-98, KIP-360): InitProducerId ids and epoch bumps, duplicate suppression of retried
/// batches, sequence-gap and stale-epoch rejection, and producer state surviving a clean broker restart. Scenarios
/// follow Kafka's ProducerStateManagerTest and ProducerIdsIntegrationTest in our own words, over raw requests.
/// </summary>
public sealed class IdempotentProducerTests
{
    [Fact]
    public async Task Retried_batch_returns_the_original_offset_and_is_not_appended_twice()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var init = await InitProducerIdAsync(client);
        Assert.Equal((short)ErrorCode.None, init.ErrorCode);

        var first = Batch(3, init.ProducerId, init.ProducerEpoch, sequence: 0);
        var second = Batch(2, init.ProducerId, init.ProducerEpoch, sequence: 3);
        Assert.Equal(0, (await ProduceAsync(client, "t", first)).BaseOffset);
        Assert.Equal(3, (await ProduceAsync(client, "t", second)).BaseOffset);

        var retryFirst = await ProduceAsync(client, "t", first);
        var retrySecond = await ProduceAsync(client, "t", second);
        Assert.Equal((short)ErrorCode.None, retryFirst.ErrorCode);
        Assert.Equal(0, retryFirst.BaseOffset);
        Assert.Equal(3, retrySecond.BaseOffset);
        Assert.Equal(5, await ListOffsetAsync(client, "t", -1));
    }

    [Fact]
    public async Task Sequence_gap_is_OUT_OF_ORDER_SEQUENCE_NUMBER()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var init = await InitProducerIdAsync(client);

        await ProduceAsync(client, "t", Batch(2, init.ProducerId, init.ProducerEpoch, sequence: 0));
        var gap = await ProduceAsync(client, "t", Batch(1, init.ProducerId, init.ProducerEpoch, sequence: 5));
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, gap.ErrorCode);
        Assert.Equal(2, await ListOffsetAsync(client, "t", -1));
    }

    [Fact]
    public async Task InitProducerId_epoch_bump_fences_the_old_epoch()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var init = await InitProducerIdAsync(client);
        await ProduceAsync(client, "t", Batch(1, init.ProducerId, init.ProducerEpoch, sequence: 0));

        var bumped = await InitProducerIdAsync(client, init.ProducerId, init.ProducerEpoch);
        Assert.Equal((short)ErrorCode.None, bumped.ErrorCode);
        Assert.Equal(init.ProducerId, bumped.ProducerId);
        Assert.Equal(init.ProducerEpoch + 1, bumped.ProducerEpoch);

        // The new epoch must start at sequence 0; once it has written, the old epoch is fenced.
        var badStart = await ProduceAsync(client, "t", Batch(1, bumped.ProducerId, bumped.ProducerEpoch, sequence: 1));
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, badStart.ErrorCode);
        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(client, "t", Batch(1, bumped.ProducerId, bumped.ProducerEpoch, sequence: 0))).ErrorCode);
        var zombie = await ProduceAsync(client, "t", Batch(1, init.ProducerId, init.ProducerEpoch, sequence: 1));
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, zombie.ErrorCode);

        // Asking to bump from the fenced epoch again is PRODUCER_FENCED (v4+), INVALID_PRODUCER_EPOCH before.
        var stale = await InitProducerIdAsync(client, init.ProducerId, (short)(init.ProducerEpoch + 5));
        Assert.Equal((short)ErrorCode.ProducerFenced, stale.ErrorCode);
        var staleV3 = await InitProducerIdAsync(client, init.ProducerId, (short)(init.ProducerEpoch + 5), version: 3);
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, staleV3.ErrorCode);
    }

    [Fact]
    public async Task InitProducerId_with_only_one_of_id_and_epoch_is_INVALID_REQUEST()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        Assert.Equal((short)ErrorCode.InvalidRequest, (await InitProducerIdAsync(client, 5, -1)).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequest, (await InitProducerIdAsync(client, -1, 3)).ErrorCode);
    }

    [Fact]
    public async Task Producer_ids_are_never_reused_across_restarts()
    {
        await using var harness = await BrokerHarness.StartAsync();
        long before;
        await using (var client = await harness.ConnectAsync())
        {
            var a = await InitProducerIdAsync(client);
            var b = await InitProducerIdAsync(client);
            Assert.True(b.ProducerId > a.ProducerId);
            before = b.ProducerId;
        }

        await harness.RestartAsync();
        await using var again = await harness.ConnectAsync();
        var after = await InitProducerIdAsync(again);
        Assert.True(after.ProducerId > before, $"id {after.ProducerId} after restart must exceed {before}");
    }

    [Fact]
    public async Task Producer_state_survives_restart_so_a_retried_batch_is_still_deduplicated()
    {
        await using var harness = await BrokerHarness.StartAsync();
        byte[] first, second;
        long producerId;
        short epoch;
        await using (var client = await harness.ConnectAsync())
        {
            await CreateTopicAsync(client, "t");
            var init = await InitProducerIdAsync(client);
            (producerId, epoch) = (init.ProducerId, init.ProducerEpoch);
            first = Batch(2, producerId, epoch, sequence: 0);
            second = Batch(2, producerId, epoch, sequence: 2);
            await ProduceAsync(client, "t", first);
            await ProduceAsync(client, "t", second);
        }

        await harness.RestartAsync();
        await using var after = await harness.ConnectAsync();
        var retryFirst = await ProduceAsync(after, "t", first);
        var retrySecond = await ProduceAsync(after, "t", second);
        Assert.Equal(0, retryFirst.BaseOffset);
        Assert.Equal(2, retrySecond.BaseOffset);
        Assert.Equal(4, await ListOffsetAsync(after, "t", -1));

        // Sequence checking resumes where it left off, and the epoch is still known.
        Assert.Equal((short)ErrorCode.OutOfOrderSequenceNumber, (await ProduceAsync(after, "t", Batch(1, producerId, epoch, sequence: 7))).ErrorCode);
        Assert.Equal(4, (await ProduceAsync(after, "t", Batch(1, producerId, epoch, sequence: 4))).BaseOffset);
    }

    [Fact]
    public async Task Producer_state_is_rebuilt_from_the_log_when_no_snapshot_covers_the_tail()
    {
        await using var harness = await BrokerHarness.StartAsync();
        byte[] batch;
        await using (var client = await harness.ConnectAsync())
        {
            await CreateTopicAsync(client, "t");
            var init = await InitProducerIdAsync(client);
            batch = Batch(3, init.ProducerId, init.ProducerEpoch, sequence: 0);
            await ProduceAsync(client, "t", batch);
        }

        // Stop the broker (RestartAsync below tolerates the second dispose), then remove every producer snapshot:
        // the state must come from replaying the batch headers in the log.
        await harness.Broker.DisposeAsync();
        foreach (var dir in harness.FileSystem.ListDirectories("/data/logs"))
        {
            foreach (var file in harness.FileSystem.ListFiles(dir).Where(f => f.EndsWith(".snapshot", StringComparison.Ordinal)))
            {
                harness.FileSystem.DeleteFile(file);
            }
        }

        await harness.RestartAsync();
        await using var after = await harness.ConnectAsync();
        Assert.Equal(0, (await ProduceAsync(after, "t", batch)).BaseOffset);
        Assert.Equal(3, await ListOffsetAsync(after, "t", -1));
    }
}
