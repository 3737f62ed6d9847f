namespace Lockstep.Storage.Tests;

/// <summary>
/// One partition log over an <see cref="InMemoryFileSystem"/> with a manual clock and its own flusher, plus the
/// reopen step the recovery tests need (dispose without flushing, as a killed process would, then open again).
/// </summary>
internal sealed class LogHarness : IAsyncDisposable
{
    public const string Directory = "/data/orders-0";

    private LogFlusher _flusher = new();

    public LogHarness(LogConfig? config = null, InMemoryFileSystem? fs = null, ManualTimeProvider? time = null)
    {
        Config = config ?? new LogConfig();
        Fs = fs ?? new InMemoryFileSystem();
        Time = time ?? new ManualTimeProvider();
        Log = Open();
    }

    public InMemoryFileSystem Fs { get; }

    public ManualTimeProvider Time { get; }

    public LogConfig Config { get; set; }

    public PartitionLog Log { get; private set; }

    public static TopicPartition TopicPartition => new("orders", 0);

    /// <summary>Appends a batch and waits for it to be durable (acks=all).</summary>
    public async Task<LogAppendInfo> AppendAsync(byte[] batch) => await Log.AppendAndWaitAsync(batch);

    /// <summary>Reads everything readable from <paramref name="from"/> and returns the batch headers.</summary>
    public List<Protocol.Records.RecordBatchHeader> ReadAll(long from = -1)
    {
        var headers = new List<Protocol.Records.RecordBatchHeader>();
        var next = from < 0 ? Log.LogStartOffset : from;
        while (next < Log.HighWatermark)
        {
            using var result = Log.Read(next, 1 << 20, Log.HighWatermark);
            var batch = TestBatches.Parse(result.Records.Span);
            Assert.NotEmpty(batch);
            headers.AddRange(batch);
            next = batch[^1].LastOffset + 1;
        }

        return headers;
    }

    /// <summary>Simulates power loss (or SIGKILL + OS crash) and opens the log again, which runs recovery.</summary>
    public async Task CrashAndReopenAsync(int keepUnsyncedBytes = 0)
    {
        Fs.Crash(keepUnsyncedBytes);
        Fs.ResumeFlushes();

        // The old instance belongs to the dead process: its handles now fail, and it must not flush anything.
        await _flusher.DisposeAsync();
        Log.Dispose();
        _flusher = new LogFlusher();
        Log = Open();
    }

    /// <summary>Clean shutdown and reopen.</summary>
    public async Task ReopenAsync()
    {
        Log.Dispose();
        await _flusher.DisposeAsync();
        _flusher = new LogFlusher();
        Log = Open();
    }

    public async ValueTask DisposeAsync()
    {
        Fs.ResumeFlushes();
        Log.Dispose();
        await _flusher.DisposeAsync();
        Fs.Dispose();
    }

    private PartitionLog Open() =>
        PartitionLog.Open(Fs, Directory, TopicPartition, Config, Time, _flusher);
}
