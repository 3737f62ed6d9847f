namespace Lockstep.Storage.Tests;

/// <summary>
/// Goal: the sparse offset index and time index are written as Kafka writes them (one entry per
/// <c>index.interval.bytes</c>), lookups through them agree with a full scan, ListOffsets-by-timestamp follows
/// Kafka's semantics, and missing or damaged index files are rebuilt on open. Method: build logs with known
/// timestamps, compare indexed lookups with brute force over the batches, then delete or garble index files and
/// reopen.
/// </summary>
public sealed class IndexTests
{
    private static readonly LogConfig Config = new() { SegmentBytes = 4096, IndexIntervalBytes = 256 };

    [Fact]
    public async Task Offset_index_is_sparse_and_every_offset_lookup_finds_the_batch_holding_it()
    {
        await using var h = new LogHarness(Config);
        await AppendManyAsync(h, 60);
        var batches = h.ReadAll();

        var segment = h.Log.Segments[0];
        Assert.True(segment.OffsetIndex.Count > 2, "several index entries expected");
        Assert.True(segment.OffsetIndex.Count < batches.Count(b => b.BaseOffset < h.Log.Segments[1].BaseOffset),
            "the index must be sparse");
        var indexFile = h.Fs.ReadAllBytes(segment.OffsetIndexPath);
        Assert.Equal(segment.OffsetIndex.Count * 8, indexFile.Length);

        foreach (var batch in batches)
        {
            for (var offset = batch.BaseOffset; offset <= batch.LastOffset; offset++)
            {
                using var result = h.Log.Read(offset, 1, h.Log.HighWatermark);
                Assert.Equal(batch.BaseOffset, TestBatches.Parse(result.Records.Span).Single().BaseOffset);
            }
        }
    }

    [Fact]
    public async Task FindOffsetByTimestamp_returns_the_first_batch_whose_max_timestamp_reaches_the_target()
    {
        await using var h = new LogHarness(Config);
        await AppendManyAsync(h, 60);
        var batches = h.ReadAll();
        Assert.True(h.Log.Segments[0].TimeIndex.Count > 1, "time index entries expected");

        var minTs = batches.Min(b => b.MaxTimestamp);
        var maxTs = batches.Max(b => b.MaxTimestamp);
        for (var ts = minTs - 5; ts <= maxTs + 5; ts++)
        {
            var expected = batches.FirstOrDefault(b => b.MaxTimestamp >= ts);
            var actual = h.Log.FindOffsetByTimestamp(ts);
            if (expected.RecordCount == 0)
            {
                Assert.Null(actual);
            }
            else
            {
                Assert.Equal(new TimestampOffset(expected.MaxTimestamp, expected.BaseOffset), actual);
            }
        }
    }

    [Fact]
    public async Task FindOffsetByTimestamp_earliest_latest_and_log_start()
    {
        await using var h = new LogHarness(Config);
        await AppendManyAsync(h, 30);
        var batches = h.ReadAll();

        Assert.Equal(new TimestampOffset(-1, 0), h.Log.FindOffsetByTimestamp(PartitionLog.EarliestTimestamp));
        Assert.Equal(new TimestampOffset(-1, h.Log.HighWatermark),
            h.Log.FindOffsetByTimestamp(PartitionLog.LatestTimestamp));
        Assert.Null(h.Log.FindOffsetByTimestamp(-3));

        // After DeleteRecords into the middle of a batch, the answer never goes below the log start offset.
        var middle = batches[5].BaseOffset + 1;
        h.Log.DeleteRecordsBefore(middle);
        Assert.Equal(middle, h.Log.FindOffsetByTimestamp(0)!.Value.Offset);
        Assert.Equal(new TimestampOffset(-1, middle), h.Log.FindOffsetByTimestamp(PartitionLog.EarliestTimestamp));
    }

    [Fact]
    public async Task FindOffsetByTimestamp_ignores_batches_at_or_above_maxOffset()
    {
        await using var h = new LogHarness(Config);
        await h.AppendAsync(TestBatches.Create(baseTimestamp: 100));
        await h.AppendAsync(TestBatches.Create(baseTimestamp: 200));

        Assert.Equal(1, h.Log.FindOffsetByTimestamp(150)!.Value.Offset);
        Assert.Null(h.Log.FindOffsetByTimestamp(150, maxOffset: 1));
    }

    [Fact]
    public async Task Deleted_index_files_are_rebuilt_on_open_with_identical_content()
    {
        await using var h = new LogHarness(Config);
        await AppendManyAsync(h, 60);
        await h.ReopenAsync(); // clean shutdown, so the files on disk are complete
        var paths = h.Log.Segments.SelectMany(s => new[] { s.OffsetIndexPath, s.TimeIndexPath }).ToList();
        var before = paths.ToDictionary(p => p, h.Fs.ReadAllBytes);
        Assert.Contains(before.Values, bytes => bytes.Length > 0);

        h.Log.Dispose();
        foreach (var path in paths)
        {
            h.Fs.DeleteFile(path);
        }

        await h.ReopenAsync();

        Assert.All(h.Log.Segments.Where(s => s.OffsetIndex.Count > 0), s => Assert.True(s.IndexesRebuilt));
        foreach (var path in paths)
        {
            Assert.Equal(before[path], h.Fs.ReadAllBytes(path));
        }

        Assert.Equal(60, h.ReadAll().Count);
    }

    [Fact]
    public async Task Garbled_index_file_is_rebuilt_and_lookups_stay_correct()
    {
        await using var h = new LogHarness(Config);
        await AppendManyAsync(h, 30);
        var segment = h.Log.Segments[0];
        var path = segment.OffsetIndexPath;
        await h.ReopenAsync();
        var good = h.Fs.ReadAllBytes(path);
        h.Log.Dispose();
        using (var file = h.Fs.OpenFile(path, FileOpenMode.OpenExisting))
        {
            // Point every entry at position 0 of a wrong offset: a stale index after a crash looks like this.
            file.Write(0, new byte[good.Length]);
            file.Append([1, 2, 3]);
        }

        await h.ReopenAsync();

        Assert.Equal(good, h.Fs.ReadAllBytes(path));
        Assert.Equal(30, h.ReadAll().Count);
    }

    private static async Task AppendManyAsync(LogHarness h, int count)
    {
        // Timestamps rise with occasional dips, so the time index (max so far) differs from per-batch maxima.
        for (var i = 0; i < count; i++)
        {
            var ts = 10_000 + (i * 10) - (i % 7 == 3 ? 25 : 0);
            await h.AppendAsync(TestBatches.Create(recordCount: 1 + (i % 3), baseTimestamp: ts, valueSize: 40));
        }
    }
}
