namespace Lockstep.Storage.Tests;

/// <summary>
/// Goal: retention by time and size deletes whole old segments (never the active one, never data above the high
/// watermark) and moves the log start offset; DeleteRecords advances the log start offset durably. Method: small
/// segments on the in-memory file system, a manual clock, and reopen (clean and after a crash) to check what
/// persisted.
/// </summary>
public sealed class RetentionTests
{
    private static readonly LogConfig Small = new() { SegmentBytes = 1024, IndexIntervalBytes = 128 };

    [Fact]
    public async Task Retention_by_size_deletes_oldest_segments_until_the_log_fits()
    {
        await using var h = new LogHarness(Small with { RetentionBytes = 2048, RetentionMs = -1 });
        for (var i = 0; i < 40; i++)
        {
            await h.AppendAsync(TestBatches.Create(valueSize: 100));
        }

        var before = h.Log.Segments.ToList();
        var deleted = h.Log.ApplyRetention();

        // Kafka's rule (UnifiedLog.deleteRetentionSizeBreachedSegments): delete a segment only while the rest still
        // holds at least retention.bytes, so the log ends between the limit and the limit plus one segment.
        Assert.True(deleted > 0);
        Assert.True(h.Log.SizeInBytes >= 2048, $"size {h.Log.SizeInBytes}");
        Assert.True(h.Log.SizeInBytes - h.Log.Segments[0].Size < 2048, $"size {h.Log.SizeInBytes}");
        Assert.Equal(before[deleted].BaseOffset, h.Log.LogStartOffset);
        Assert.Equal(before[deleted].BaseOffset, h.Log.Segments[0].BaseOffset);
        Assert.False(h.Fs.FileExists(before[0].LogPath));
        Assert.False(h.Fs.FileExists(before[0].OffsetIndexPath));
        Assert.Throws<OffsetOutOfRangeException>(() => h.Log.Read(0, 100, h.Log.HighWatermark));
        Assert.Equal(h.Log.LogStartOffset, h.ReadAll()[0].BaseOffset);
    }

    [Fact]
    public async Task Retention_never_deletes_the_active_segment()
    {
        await using var h = new LogHarness(Small with { RetentionBytes = 0, RetentionMs = 0 });
        for (var i = 0; i < 20; i++)
        {
            await h.AppendAsync(TestBatches.Create(valueSize: 100));
        }

        h.Time.Advance(1_000_000);
        h.Log.ApplyRetention();

        Assert.Equal(1, h.Log.SegmentCount);
        Assert.Equal(h.Log.Segments[0].BaseOffset, h.Log.LogStartOffset);
        Assert.NotEmpty(h.ReadAll());
    }

    [Fact]
    public async Task Retention_by_time_deletes_segments_whose_newest_timestamp_expired()
    {
        var time = new ManualTimeProvider();
        await using var h = new LogHarness(Small with { RetentionMs = 60_000 }, time: time);

        // Two old segments' worth, then fresh data.
        for (var i = 0; i < 16; i++)
        {
            await h.AppendAsync(TestBatches.Create(baseTimestamp: time.NowMs, valueSize: 100));
        }

        var oldSegments = h.Log.SegmentCount - 1;
        time.Advance(50_000);
        var fresh = await h.AppendAsync(TestBatches.Create(baseTimestamp: time.NowMs, valueSize: 700));

        Assert.Equal(0, h.Log.ApplyRetention()); // nothing is 60 s old yet
        time.Advance(20_000); // old data is now 70 s old, the fresh batch 20 s

        var deleted = h.Log.ApplyRetention();

        Assert.True(deleted >= oldSegments, $"deleted {deleted} of {oldSegments} old segments");
        Assert.True(h.Log.LogStartOffset <= fresh.BaseOffset);
        Assert.Contains(h.ReadAll(), b => b.BaseOffset == fresh.BaseOffset);
    }

    [Fact]
    public async Task Retention_keeps_segments_above_the_high_watermark()
    {
        await using var h = new LogHarness(Small with { RetentionBytes = 0 });
        h.Fs.PauseFlushes();
        for (var i = 0; i < 20; i++)
        {
            h.Log.Append(TestBatches.Create(valueSize: 100)); // not durable: the fsync is blocked
        }

        Assert.Equal(0, h.Log.HighWatermark);
        Assert.Equal(0, h.Log.ApplyRetention());
        Assert.True(h.Log.SegmentCount > 1);
        h.Fs.ResumeFlushes();
    }

    [Fact]
    public async Task DeleteRecords_advances_log_start_and_persists_across_clean_reopen_and_crash()
    {
        await using var h = new LogHarness(Small);
        for (var i = 0; i < 30; i++)
        {
            await h.AppendAsync(TestBatches.Create(recordCount: 2, valueSize: 60));
        }

        var segmentsBefore = h.Log.SegmentCount;
        var target = h.Log.Segments[2].BaseOffset + 3;

        Assert.Equal(target, h.Log.DeleteRecordsBefore(target));

        Assert.Equal(target, h.Log.LogStartOffset);
        Assert.Equal(segmentsBefore - 2, h.Log.SegmentCount); // wholly-deleted segments are gone
        Assert.Throws<OffsetOutOfRangeException>(() => h.Log.Read(target - 1, 100, h.Log.HighWatermark));
        using (var fetch = h.Log.Read(target, 1, h.Log.HighWatermark))
        {
            // The batch holding the log start offset is returned whole, as Kafka does.
            var batch = TestBatches.Parse(fetch.Records.Span).Single();
            Assert.True(batch.BaseOffset <= target && target <= batch.LastOffset);
        }

        await h.ReopenAsync();
        Assert.Equal(target, h.Log.LogStartOffset);

        await h.CrashAndReopenAsync();
        Assert.Equal(target, h.Log.LogStartOffset);
        Assert.Equal(60, h.Log.LogEndOffset);

        // Lower values are ignored; -1 means "up to the high watermark".
        Assert.Equal(target, h.Log.DeleteRecordsBefore(1));
        Assert.Equal(60, h.Log.DeleteRecordsBefore(PartitionLog.HighWatermarkOffset));
        Assert.Equal(60, h.Log.LogStartOffset);
        var next = await h.AppendAsync(TestBatches.Create());
        Assert.Equal(60, next.BaseOffset);
    }

    [Fact]
    public async Task DeleteRecords_beyond_the_high_watermark_is_out_of_range()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(recordCount: 5));

        Assert.Throws<OffsetOutOfRangeException>(() => h.Log.DeleteRecordsBefore(6));
        Assert.Equal(0, h.Log.LogStartOffset);
    }
}
