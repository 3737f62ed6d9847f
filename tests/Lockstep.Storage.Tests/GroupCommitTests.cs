namespace Lockstep.Storage.Tests;

/// <summary>
/// Goal: with <see cref="Durability.Fsync"/>, produce acknowledgements wait for an fsync, and many concurrent
/// appends across partitions share few fsyncs (group commit); with <see cref="Durability.OsFlush"/> they do not
/// wait at all. Method: block fsync with the in-memory file system's gate, start many concurrent appends, check
/// that none is acknowledged and the high watermark has not moved, release the gate and count file fsyncs. No
/// timing assumptions: the gate, not a delay, decides when the disk "finishes".
/// </summary>
public sealed class GroupCommitTests
{
    [Fact]
    public async Task Concurrent_appends_across_partitions_complete_with_far_fewer_fsyncs_than_appends()
    {
        const int Partitions = 4;
        using var fs = new InMemoryFileSystem();
        await using var manager = new LogManager(fs, "/data", new LogConfig(), new ManualTimeProvider());
        var logs = Enumerable.Range(0, Partitions)
            .Select(p => manager.GetOrCreateLog(new TopicPartition("events", p)))
            .ToArray();
        var fsyncsBefore = fs.FileFlushCount;

        fs.PauseFlushes();
        try
        {
            await AppendAllWhileTheDiskIsBlockedAsync(fs, logs, fsyncsBefore);
        }
        finally
        {
            fs.ResumeFlushes(); // never leave the flusher blocked, or disposing the manager would wait forever
        }
    }

    private static async Task AppendAllWhileTheDiskIsBlockedAsync(InMemoryFileSystem fs, PartitionLog[] logs,
        int fsyncsBefore)
    {
        var partitions = logs.Length;
        const int Appends = 64;
        var acks = Enumerable.Range(0, Appends)
            .Select(i => Task.Run(
                () => logs[i % partitions].AppendAndWaitAsync(TestBatches.Create(fill: (byte)i),
                    cancellationToken: TestContext.Current.CancellationToken),
                TestContext.Current.CancellationToken))
            .ToList();

        // Wait (not assert on time) until every append has been written to the OS.
        while (logs.Sum(l => l.LogEndOffset) < Appends)
        {
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }

        Assert.All(acks, a => Assert.False(a.IsCompleted, "acknowledged before any fsync"));
        Assert.All(logs, l => Assert.Equal(0, l.HighWatermark));
        using (var read = logs[0].Read(0, 1 << 20, logs[0].HighWatermark))
        {
            Assert.True(read.Records.IsEmpty); // consumers cannot see non-durable data
        }

        fs.ResumeFlushes();
        var infos = await Task.WhenAll(acks);

        var fsyncs = fs.FileFlushCount - fsyncsBefore;
        Assert.True(fsyncs < Appends, $"{fsyncs} fsyncs for {Appends} appends");

        // One round may have started with only the first append queued; the next covers everything else.
        Assert.True(fsyncs <= 2 * partitions, $"{fsyncs} fsyncs for {partitions} partitions");
        Assert.All(logs, l => Assert.Equal(Appends / partitions, l.HighWatermark));
        for (var p = 0; p < partitions; p++)
        {
            var offsets = infos.Where((_, i) => i % partitions == p).Select(x => x.BaseOffset).Order();
            Assert.Equal(Enumerable.Range(0, Appends / partitions).Select(x => (long)x), offsets);
        }
    }

    [Fact]
    public async Task Appends_without_a_waiter_still_become_visible_after_the_next_fsync()
    {
        await using var h = new LogHarness();
        h.Fs.PauseFlushes();
        var info = h.Log.Append(TestBatches.Create(recordCount: 3)); // acks=0: nobody waits
        Assert.Equal(0, h.Log.HighWatermark);

        h.Fs.ResumeFlushes();
        await h.Log.WaitForDurableAsync(info.LastOffset, TestContext.Current.CancellationToken);

        Assert.Equal(3, h.Log.HighWatermark);
    }

    [Fact]
    public async Task OsFlush_mode_acknowledges_on_write_without_fsync()
    {
        await using var h = new LogHarness(new LogConfig { Durability = Durability.OsFlush });
        var fsyncsBefore = h.Fs.FileFlushCount;
        h.Fs.PauseFlushes(); // any fsync would now block the test forever

        for (var i = 0; i < 10; i++)
        {
            var ack = h.Log.AppendAndWaitAsync(TestBatches.Create(),
                cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(ack.IsCompletedSuccessfully);
        }

        Assert.Equal(10, h.Log.HighWatermark);
        Assert.Equal(fsyncsBefore, h.Fs.FileFlushCount);
        h.Fs.ResumeFlushes();
    }

    [Fact]
    public async Task Waiting_for_an_offset_not_yet_appended_is_rejected()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create());

        await h.Log.WaitForDurableAsync(0, TestContext.Current.CancellationToken); // already durable
        Assert.Throws<ArgumentOutOfRangeException>(
            () => { _ = h.Log.WaitForDurableAsync(5, TestContext.Current.CancellationToken); });
    }
}
