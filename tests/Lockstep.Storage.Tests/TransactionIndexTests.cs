using System.Buffers.Binary;

namespace Lockstep.Storage.Tests;

/// <summary>
/// Goal: the per-segment aborted-transaction index (kip939-spec.md §8.6) — Kafka's 34-byte <c>AbortedTxn</c> v0
/// entries, written with their ABORT marker and fsynced with it, lost together with it in a crash, truncated with
/// the log, deleted with the segment, flagged for rebuild when the file is missing — and the LSO plumbing
/// (<c>min(first unstable offset, HW)</c>). Method: a log on the in-memory file system (fsync mode, so durability
/// is observable) with plain batches standing in for markers; the log does not interpret marker contents.
/// </summary>
public sealed class TransactionIndexTests
{
    private static readonly LogConfig Small = new() { SegmentBytes = 1024, IndexIntervalBytes = 128 };

    private static string IndexPath(long baseOffset) =>
        Path.Combine(LogHarness.Directory, $"{baseOffset:D20}.txnindex");

    [Fact]
    public async Task Abort_marker_entry_uses_the_AbortedTxn_v0_layout_and_survives_reopen()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(3));                    // 0-2: the aborted transaction's data
        var entry = new AbortedTransaction(ProducerId: 42, FirstOffset: 0, LastOffset: 3, LastStableOffset: 4);
        var info = h.Log.AppendAbortMarker(TestBatches.Create(), entry); // 3: the marker
        await h.Log.WaitForDurableAsync(info.LastOffset, TestContext.Current.CancellationToken);

        var bytes = h.Fs.ReadAllBytes(IndexPath(0));
        Assert.Equal(34, bytes.Length);
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(bytes));
        Assert.Equal(42, BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(2)));
        Assert.Equal(0, BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(10)));
        Assert.Equal(3, BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(18)));
        Assert.Equal(4, BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(26)));

        await h.CrashAndReopenAsync(); // durable with the marker, so a crash keeps it
        Assert.Equal([entry], h.Log.CollectAbortedTransactions(0, 4));
        Assert.False(h.Log.TransactionIndexRebuildNeeded);
    }

    [Fact]
    public async Task Entry_that_does_not_end_at_the_marker_offset_is_rejected_and_nothing_is_appended()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(2));
        Assert.Throws<ArgumentException>(() =>
            h.Log.AppendAbortMarker(TestBatches.Create(), new AbortedTransaction(1, 0, LastOffset: 5, LastStableOffset: 6)));
        Assert.Equal(2, h.Log.LogEndOffset);
        Assert.Empty(h.Log.CollectAbortedTransactions(0, long.MaxValue));
    }

    [Fact]
    public async Task Unsynced_entry_is_lost_together_with_its_marker()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(2));
        h.Fs.PauseFlushes();
        h.Log.AppendAbortMarker(TestBatches.Create(), new AbortedTransaction(7, 0, 2, 3));
        Assert.Single(h.Log.CollectAbortedTransactions(0, 3));
        await h.CrashAndReopenAsync();
        Assert.Equal(2, h.Log.LogEndOffset);
        Assert.Empty(h.Log.CollectAbortedTransactions(0, long.MaxValue));
    }

    [Fact]
    public async Task Collect_filters_by_overlap_and_stops_at_an_entry_whose_LSO_reaches_the_upper_bound()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(2));                                                  // 0-1
        var first = new AbortedTransaction(1, 0, 2, LastStableOffset: 3);
        h.Log.AppendAbortMarker(TestBatches.Create(), first);                                       // 2
        await h.AppendAsync(TestBatches.Create(2));                                                  // 3-4
        var second = new AbortedTransaction(2, 3, 5, LastStableOffset: 6);
        h.Log.AppendAbortMarker(TestBatches.Create(), second);                                      // 5

        Assert.Equal([first], h.Log.CollectAbortedTransactions(0, 3));          // second starts at the bound
        Assert.Equal([second], h.Log.CollectAbortedTransactions(3, 6));         // first ended before the fetch
        Assert.Equal([first, second], h.Log.CollectAbortedTransactions(0, 6));
        Assert.Equal([first], h.Log.CollectAbortedTransactions(0, 2));          // first's LSO 3 ≥ 2: stop there
    }

    [Fact]
    public async Task Truncation_drops_entries_of_removed_markers()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(2));
        h.Log.AppendAbortMarker(TestBatches.Create(), new AbortedTransaction(1, 0, 2, 3));
        await h.AppendAsync(TestBatches.Create());
        h.Log.TruncateTo(2);
        Assert.Empty(h.Log.CollectAbortedTransactions(0, long.MaxValue));
        Assert.Empty(h.Fs.ReadAllBytes(IndexPath(0)));
    }

    [Fact]
    public async Task Retention_deletes_the_txnindex_with_its_segment()
    {
        await using var h = new LogHarness(Small with { RetentionBytes = 1, RetentionMs = -1 });
        await h.AppendAsync(TestBatches.Create(valueSize: 100));
        h.Log.AppendAbortMarker(TestBatches.Create(), new AbortedTransaction(1, 0, 1, 2));
        for (var i = 0; i < 12; i++)
        {
            await h.AppendAsync(TestBatches.Create(valueSize: 100));
        }

        Assert.True(h.Log.SegmentCount > 1);
        Assert.True(h.Fs.FileExists(IndexPath(0)));
        Assert.True(h.Log.ApplyRetention() > 0);
        Assert.False(h.Fs.FileExists(IndexPath(0)));
        Assert.Empty(h.Log.CollectAbortedTransactions(h.Log.LogStartOffset, long.MaxValue));
    }

    [Fact]
    public async Task Missing_txnindex_is_flagged_and_EnsureAbortedTransaction_restores_entries_once()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(2));
        var entry = new AbortedTransaction(9, 0, 2, 3);
        h.Log.AppendAbortMarker(TestBatches.Create(), entry);
        await h.Log.WaitForDurableAsync(2, TestContext.Current.CancellationToken);

        await h.ReopenAsync();
        Assert.False(h.Log.TransactionIndexRebuildNeeded);
        Assert.False(h.Log.EnsureAbortedTransaction(entry)); // already there

        h.Log.Dispose();
        h.Fs.DeleteFile(IndexPath(0));
        await h.ReopenAsync();
        Assert.True(h.Log.TransactionIndexRebuildNeeded);
        Assert.Empty(h.Log.CollectAbortedTransactions(0, long.MaxValue));
        Assert.True(h.Log.EnsureAbortedTransaction(entry));
        Assert.False(h.Log.EnsureAbortedTransaction(entry));
        Assert.Equal([entry], h.Log.CollectAbortedTransactions(0, 3));
        Assert.Equal(34, h.Fs.ReadAllBytes(IndexPath(0)).Length);
    }

    [Fact]
    public async Task Last_stable_offset_is_the_minimum_of_first_unstable_offset_and_high_watermark()
    {
        await using var h = new LogHarness();
        await h.AppendAsync(TestBatches.Create(5));
        Assert.Equal(5, h.Log.LastStableOffset);
        h.Log.SetFirstUnstableOffset(2);
        Assert.Equal(2, h.Log.LastStableOffset);
        h.Log.SetFirstUnstableOffset(9); // beyond the HW: the HW bounds it
        Assert.Equal(5, h.Log.LastStableOffset);
        h.Log.SetFirstUnstableOffset(long.MaxValue);
        Assert.Equal(5, h.Log.LastStableOffset);
    }
}
