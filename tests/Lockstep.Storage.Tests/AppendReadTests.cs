using System.Buffers.Binary;
using Lockstep.Protocol;

namespace Lockstep.Storage.Tests;

/// <summary>
/// Goal: the append/read contract the broker's Produce and Fetch handlers rely on. Method: append hand-built
/// batches to a log on the in-memory file system (small segments so rolls happen) and read them back, checking
/// assigned offsets, byte-for-byte content, whole-batch and maxBytes/maxOffset semantics, and input validation.
/// </summary>
public sealed class AppendReadTests
{
    private static readonly LogConfig SmallSegments = new() { SegmentBytes = 1024, IndexIntervalBytes = 128 };

    [Fact]
    public async Task Append_assigns_contiguous_offsets_and_reads_back_identical_bytes_across_rolls()
    {
        await using var h = new LogHarness(SmallSegments);
        var expected = new List<byte[]>();
        long nextOffset = 0;
        for (var i = 0; i < 40; i++)
        {
            var batch = TestBatches.Create(recordCount: 1 + (i % 4), valueSize: 20, fill: (byte)i);
            var info = await h.AppendAsync(batch);
            Assert.Equal(nextOffset, info.BaseOffset);
            Assert.Equal(nextOffset + (i % 4), info.LastOffset);
            Assert.Equal(-1, info.LogAppendTimeMs);
            nextOffset = info.LastOffset + 1;
            expected.Add(batch); // Append rewrote BaseOffset in place, so this is what the log holds.
        }

        Assert.True(h.Log.SegmentCount > 3, $"expected several segments, got {h.Log.SegmentCount}");
        Assert.Equal(nextOffset, h.Log.LogEndOffset);
        Assert.Equal(nextOffset, h.Log.HighWatermark);

        var all = new List<byte>();
        var from = 0L;
        while (from < h.Log.LogEndOffset)
        {
            using var result = h.Log.Read(from, 1 << 20, h.Log.HighWatermark);
            var headers = TestBatches.Parse(result.Records.Span);
            all.AddRange(result.Records.ToArray());
            from = headers[^1].LastOffset + 1;
        }

        Assert.Equal(expected.SelectMany(b => b).ToArray(), all.ToArray());
    }

    [Fact]
    public async Task Read_from_an_offset_inside_a_batch_returns_that_whole_batch()
    {
        await using var h = new LogHarness(SmallSegments);
        await h.AppendAsync(TestBatches.Create(recordCount: 5));
        await h.AppendAsync(TestBatches.Create(recordCount: 5));

        using var result = h.Log.Read(7, 1 << 20, h.Log.HighWatermark);
        var headers = TestBatches.Parse(result.Records.Span);

        Assert.Single(headers);
        Assert.Equal(5, headers[0].BaseOffset);
        Assert.Equal(9, headers[0].LastOffset);
    }

    [Fact]
    public async Task Read_maxBytes_returns_whole_batches_only_and_always_the_first_one()
    {
        await using var h = new LogHarness();
        var batch = TestBatches.Create(valueSize: 100);
        for (var i = 0; i < 5; i++)
        {
            await h.AppendAsync((byte[])batch.Clone());
        }

        var size = batch.Length;

        // Room for two and a half batches: two whole batches, never a partial third.
        using (var result = h.Log.Read(0, (size * 2) + (size / 2), h.Log.HighWatermark))
        {
            Assert.Equal(2 * size, result.Records.Length);
            Assert.Equal([0L, 1L], TestBatches.Parse(result.Records.Span).Select(b => b.BaseOffset));
        }

        // Smaller than one batch: Kafka still returns the first batch so that the consumer makes progress.
        using (var result = h.Log.Read(3, 1, h.Log.HighWatermark))
        {
            Assert.Equal(size, result.Records.Length);
            Assert.Equal(3, TestBatches.Parse(result.Records.Span).Single().BaseOffset);
        }
    }

    [Fact]
    public async Task Read_stops_before_maxOffset_and_at_the_log_end()
    {
        await using var h = new LogHarness();
        for (var i = 0; i < 4; i++)
        {
            await h.AppendAsync(TestBatches.Create(recordCount: 2));
        }

        using (var result = h.Log.Read(0, 1 << 20, maxOffset: 4))
        {
            Assert.Equal([0L, 2L], TestBatches.Parse(result.Records.Span).Select(b => b.BaseOffset));
        }

        using (var atEnd = h.Log.Read(8, 1 << 20, h.Log.HighWatermark))
        {
            Assert.True(atEnd.Records.IsEmpty);
            Assert.Equal(8, atEnd.HighWatermark);
            Assert.Equal(8, atEnd.LogEndOffset);
        }

        using (var atLimit = h.Log.Read(4, 1 << 20, maxOffset: 4))
        {
            Assert.True(atLimit.Records.IsEmpty);
        }
    }

    [Fact]
    public async Task Read_outside_the_log_throws_OffsetOutOfRange()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(recordCount: 3));

        Assert.Throws<OffsetOutOfRangeException>(() => h.Log.Read(4, 100, long.MaxValue));
        Assert.Throws<OffsetOutOfRangeException>(() => h.Log.Read(-1, 100, long.MaxValue));
    }

    [Fact]
    public async Task Append_rejects_malformed_batches_with_KafkaProtocolException_and_appends_nothing()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create());

        var badCrc = TestBatches.Create();
        badCrc[^1] ^= 0xFF;
        var twoBatches = TestBatches.Create().Concat(TestBatches.Create()).ToArray();
        var truncated = TestBatches.Create()[..^1];
        var badMagic = TestBatches.Create();
        badMagic[16] = 1;
        var countMismatch = TestBatches.Create(recordCount: 2);
        BinaryPrimitives.WriteInt32BigEndian(countMismatch.AsSpan(57), 3);
        TestBatches.SealCrc(countMismatch);

        foreach (var bad in new[] { badCrc, twoBatches, truncated, badMagic, countMismatch, new byte[10] })
        {
            Assert.Throws<KafkaProtocolException>(() => h.Log.Append(bad));
        }

        Assert.Equal(1, h.Log.LogEndOffset);
        var info = await h.AppendAsync(TestBatches.Create());
        Assert.Equal(1, info.BaseOffset);
    }

    [Fact]
    public async Task Append_rejects_a_batch_larger_than_segment_bytes()
    {
        await using var h = new LogHarness(new LogConfig { SegmentBytes = 1024 });

        Assert.Throws<RecordBatchTooLargeException>(() => h.Log.Append(TestBatches.Create(valueSize: 2000)));
        Assert.Equal(0, h.Log.LogEndOffset);
    }

    [Fact]
    public async Task Append_with_log_append_time_rewrites_max_timestamp_and_recomputes_the_crc()
    {
        await using var h = new LogHarness();
        var batch = TestBatches.Create(recordCount: 3, baseTimestamp: 5);

        var info = await h.Log.AppendAndWaitAsync(batch, useLogAppendTime: true, TestContext.Current.CancellationToken);

        Assert.Equal(h.Time.NowMs, info.LogAppendTimeMs);
        using var result = h.Log.Read(0, 1 << 20, h.Log.HighWatermark);
        var header = TestBatches.Parse(result.Records.Span).Single(); // Parse checks the CRC.
        Assert.True(header.IsLogAppendTime);
        Assert.Equal(h.Time.NowMs, header.MaxTimestamp);
        Assert.Equal(5, header.BaseTimestamp);
    }

    [Fact]
    public async Task Segments_roll_by_segment_ms_using_the_first_batch_timestamp()
    {
        var time = new ManualTimeProvider();
        await using var h = new LogHarness(new LogConfig { SegmentMs = 60_000 }, time: time);
        await h.AppendAsync(TestBatches.Create(baseTimestamp: time.NowMs));
        time.Advance(30_000);
        await h.AppendAsync(TestBatches.Create(baseTimestamp: time.NowMs));
        Assert.Equal(1, h.Log.SegmentCount);

        time.Advance(31_000);
        var info = await h.AppendAsync(TestBatches.Create(baseTimestamp: time.NowMs));

        Assert.Equal(2, h.Log.SegmentCount);
        Assert.Equal(info.BaseOffset, h.Log.Segments[^1].BaseOffset);
    }

    [Fact]
    public async Task Segment_files_use_kafka_20_digit_names()
    {
        await using var h = new LogHarness(SmallSegments);
        for (var i = 0; i < 20; i++)
        {
            await h.AppendAsync(TestBatches.Create(valueSize: 100));
        }

        var names = h.Fs.ListFiles(LogHarness.Directory).Select(Path.GetFileName).ToList();
        var second = h.Log.Segments[1].BaseOffset;
        Assert.Contains("00000000000000000000.log", names);
        Assert.Contains("00000000000000000000.index", names);
        Assert.Contains("00000000000000000000.timeindex", names);
        Assert.Contains($"{second:D20}.log", names);
    }

    [Fact]
    public async Task Reads_run_concurrently_with_appends_and_see_only_complete_batches()
    {
        await using var h = new LogHarness(SmallSegments with { Durability = Durability.OsFlush });
        const int Appends = 300;
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < Appends; i++)
            {
                h.Log.Append(TestBatches.Create(recordCount: 2, fill: (byte)i));
            }
        }, TestContext.Current.CancellationToken);

        var next = 0L;
        while (next < 2 * Appends)
        {
            using var result = h.Log.Read(next, 512, h.Log.HighWatermark);
            foreach (var header in TestBatches.Parse(result.Records.Span))
            {
                Assert.Equal(next, header.BaseOffset);
                next = header.LastOffset + 1;
            }

            if (result.Records.IsEmpty)
            {
                await Task.Yield();
            }
        }

        await writer;
        Assert.Equal(2 * Appends, next);
    }
}
