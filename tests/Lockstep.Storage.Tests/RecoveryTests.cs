using System.Buffers.Binary;

namespace Lockstep.Storage.Tests;

/// <summary>
/// Goal: the durability promise survives crashes. Acknowledged (fsynced) data is never lost, unacknowledged data
/// may vanish but never leaves a corrupt log, torn or corrupt tails are truncated on open, and appends continue at
/// the right offset. Method: <see cref="InMemoryFileSystem.Crash"/> (power loss: unsynced bytes and directory
/// entries discarded, optionally keeping a torn prefix), injected write/fsync faults, and direct damage to segment
/// bytes, each followed by reopening the log, which runs recovery.
/// </summary>
public sealed class RecoveryTests
{
    private static readonly LogConfig Small = new() { SegmentBytes = 1024, IndexIntervalBytes = 128 };

    [Fact]
    public async Task Acknowledged_data_survives_a_crash_and_unacknowledged_data_vanishes_cleanly()
    {
        await using var h = new LogHarness(Small);
        var acknowledged = new List<LogAppendInfo>();
        for (var i = 0; i < 25; i++)
        {
            acknowledged.Add(await h.AppendAsync(TestBatches.Create(recordCount: 2, valueSize: 50, fill: (byte)i)));
        }

        // More appends whose fsync never happens: the disk stalls, then the power goes.
        h.Fs.PauseFlushes();
        var pending = new List<Task>();
        for (var i = 0; i < 10; i++)
        {
            pending.Add(h.Log.AppendAndWaitAsync(TestBatches.Create(recordCount: 2, valueSize: 50),
                cancellationToken: TestContext.Current.CancellationToken));
        }

        Assert.All(pending, t => Assert.False(t.IsCompleted));
        Assert.Equal(acknowledged[^1].LastOffset + 1, h.Log.HighWatermark); // HW never covers non-durable data

        await h.CrashAndReopenAsync();

        var batches = h.ReadAll(); // ReadAll checks every CRC
        Assert.Equal(acknowledged.Select(a => a.BaseOffset), batches.Select(b => b.BaseOffset));
        Assert.Equal(acknowledged[^1].LastOffset + 1, h.Log.LogEndOffset);
        Assert.Equal(h.Log.LogEndOffset, h.Log.HighWatermark);
        var next = await h.AppendAsync(TestBatches.Create());
        Assert.Equal(h.Log.LogEndOffset - 1, next.BaseOffset);
        Assert.Equal(acknowledged[^1].LastOffset + 1, next.BaseOffset);
        // The dead process's waiters never succeed (they fail when its flusher hits the crashed file handles).
#pragma warning disable VSTHRD003 // These tasks were started by this test.
        foreach (var task in pending)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => task);
        }
#pragma warning restore VSTHRD003
    }

    [Fact]
    public async Task Torn_tail_at_every_byte_of_the_last_batch_is_truncated_and_appends_continue()
    {
        var last = TestBatches.Create(recordCount: 3, valueSize: 30, fill: 0x5A);
        for (var keep = 0; keep <= last.Length; keep++)
        {
            // One segment: a rolled segment whose directory entry was never synced would vanish as a whole.
            await using var h = new LogHarness(new LogConfig { Durability = Durability.OsFlush });
            for (var i = 0; i < 6; i++)
            {
                h.Log.Append(TestBatches.Create(recordCount: 2, valueSize: 40));
            }

            h.Log.Flush();
            h.Log.Append((byte[])last.Clone()); // written, never fsynced
            Assert.Equal(15, h.Log.LogEndOffset);

            // Power loss after the OS wrote back `keep` bytes of the last batch.
            await h.CrashAndReopenAsync(keepUnsyncedBytes: keep);

            var survived = keep == last.Length;
            Assert.Equal(survived ? 15 : 12, h.Log.LogEndOffset);
            Assert.Equal(survived ? 7 : 6, h.ReadAll().Count);
            var next = h.Log.Append(TestBatches.Create());
            Assert.Equal(survived ? 15 : 12, next.BaseOffset);
            Assert.Equal(survived ? 8 : 7, h.ReadAll().Count);
        }
    }

    [Fact]
    public async Task Corrupt_crc_in_the_middle_truncates_from_that_batch_and_deletes_later_segments()
    {
        await using var h = new LogHarness(Small);
        for (var i = 0; i < 30; i++)
        {
            await h.AppendAsync(TestBatches.Create(recordCount: 1, valueSize: 80, fill: (byte)i));
        }

        var segments = h.Log.Segments.ToList();
        Assert.True(segments.Count >= 4);
        var damaged = segments[1];
        var batches = h.ReadAll();
        var victim = batches.Where(b => b.BaseOffset >= damaged.BaseOffset).Skip(2).First();
        var position = batches.Where(b => b.BaseOffset >= damaged.BaseOffset && b.BaseOffset < victim.BaseOffset)
            .Sum(b => b.TotalSize);
        await h.ReopenAsync();
        h.Log.Dispose();
        using (var file = h.Fs.OpenFile(damaged.LogPath, FileOpenMode.OpenExisting))
        {
            // Flip one byte of the victim's record data: only the CRC can notice.
            file.Write(position + victim.TotalSize - 3, [0xFF]);
            file.FlushToDisk();
        }

        await h.ReopenAsync();

        Assert.Equal(victim.BaseOffset, h.Log.LogEndOffset);
        Assert.Equal(2, h.Log.SegmentCount);
        Assert.False(h.Fs.FileExists(segments[2].LogPath));
        Assert.False(h.Fs.FileExists(segments[3].OffsetIndexPath));
        Assert.Equal(batches.TakeWhile(b => b.BaseOffset < victim.BaseOffset).Select(b => b.BaseOffset),
            h.ReadAll().Select(b => b.BaseOffset));
        Assert.Equal(victim.BaseOffset, (await h.AppendAsync(TestBatches.Create())).BaseOffset);
    }

    [Fact]
    public async Task Damaged_base_offset_field_outside_the_crc_is_caught_by_the_contiguity_check()
    {
        await using var h = new LogHarness();
        for (var i = 0; i < 5; i++)
        {
            await h.AppendAsync(TestBatches.Create());
        }

        var path = h.Log.Segments[0].LogPath;
        var size = TestBatches.Create().Length;
        await h.ReopenAsync();
        h.Log.Dispose();
        using (var file = h.Fs.OpenFile(path, FileOpenMode.OpenExisting))
        {
            var offset = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(offset, 99);
            file.Write(3L * size, offset);
            file.FlushToDisk();
        }

        await h.ReopenAsync();

        Assert.Equal(3, h.Log.LogEndOffset);
    }

    [Fact]
    public async Task Failed_and_torn_writes_append_nothing_and_the_next_append_reuses_the_offset()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(recordCount: 2));

        h.Fs.FailNextWrite();
        Assert.Throws<IOException>(() => h.Log.Append(TestBatches.Create()));
        h.Fs.TearNextWrite(keepBytes: 20);
        Assert.Throws<IOException>(() => h.Log.Append(TestBatches.Create()));

        Assert.Equal(2, h.Log.LogEndOffset);
        var info = await h.AppendAsync(TestBatches.Create(recordCount: 3));
        Assert.Equal(2, info.BaseOffset);
        Assert.Equal([0L, 2L], h.ReadAll().Select(b => b.BaseOffset));

        await h.CrashAndReopenAsync();
        Assert.Equal([0L, 2L], h.ReadAll().Select(b => b.BaseOffset));
    }

    [Fact]
    public async Task Failed_fsync_fails_the_waiters_takes_the_log_offline_and_reopen_recovers()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create());

        h.Fs.FailNextFlush();
        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(TestBatches.Create()));

        Assert.Equal(1, h.Log.HighWatermark); // the failed batch was never exposed
        Assert.Throws<IOException>(() => h.Log.Append(TestBatches.Create()));

        await h.CrashAndReopenAsync();

        Assert.Equal(1, h.Log.LogEndOffset);
        Assert.Equal(1, (await h.AppendAsync(TestBatches.Create())).BaseOffset);
    }

    [Fact]
    public async Task A_rolled_segment_whose_directory_entry_was_not_synced_is_not_needed_for_acknowledged_data()
    {
        await using var h = new LogHarness(Small);
        for (var i = 0; i < 20; i++)
        {
            await h.AppendAsync(TestBatches.Create(valueSize: 100));
        }

        var segments = h.Log.SegmentCount;
        var end = h.Log.LogEndOffset;

        await h.CrashAndReopenAsync();

        // The flusher synced the directory after each roll, so every acknowledged segment is still listed.
        Assert.Equal(segments, h.Log.SegmentCount);
        Assert.Equal(end, h.Log.LogEndOffset);
    }

    [Fact]
    public async Task Truncate_to_a_batch_boundary_removes_later_data_durably()
    {
        await using var h = new LogHarness(Small);
        for (var i = 0; i < 20; i++)
        {
            await h.AppendAsync(TestBatches.Create(recordCount: 2, valueSize: 60));
        }

        Assert.Throws<ArgumentException>(() => h.Log.TruncateTo(9));
        h.Log.TruncateTo(10);

        Assert.Equal(10, h.Log.LogEndOffset);
        Assert.Equal(10, h.Log.HighWatermark);
        await h.CrashAndReopenAsync();
        Assert.Equal(10, h.Log.LogEndOffset);
        Assert.Equal(5, h.ReadAll().Count);
    }
}
