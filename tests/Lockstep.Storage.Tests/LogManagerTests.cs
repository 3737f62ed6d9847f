namespace Lockstep.Storage.Tests;

/// <summary>
/// Goal: the log manager opens every partition directory under the data directory (recovering each), creates
/// and deletes logs, and the whole stack works on the real disk. Method: the in-memory file system for lifecycle
/// and crash behaviour, then a temp directory with <see cref="PhysicalFileSystem"/> for an end-to-end round trip
/// including a torn tail written by hand.
/// </summary>
public sealed class LogManagerTests
{
    [Fact]
    public async Task LoadLogs_reopens_every_partition_directory_after_a_crash()
    {
        using var fs = new InMemoryFileSystem();
        var time = new ManualTimeProvider();
        var manager = new LogManager(fs, "/data", new LogConfig(), time);
        var partitions = new[] { new TopicPartition("orders", 0), new TopicPartition("my-topic", 12) };
        foreach (var tp in partitions)
        {
            var log = manager.GetOrCreateLog(tp);
            await log.AppendAndWaitAsync(TestBatches.Create(recordCount: tp.Partition + 1),
                cancellationToken: TestContext.Current.CancellationToken);
        }

        fs.Crash();
        await manager.DisposeAsync(); // the dead process's objects: they can no longer write anything

        await using var reopened = new LogManager(fs, "/data", new LogConfig(), time);
        reopened.LoadLogs();

        Assert.Equal(partitions.ToHashSet(), reopened.Logs.Select(l => l.TopicPartition).ToHashSet());
        Assert.True(reopened.TryGetLog(new TopicPartition("my-topic", 12), out var myTopic));
        Assert.Equal(13, myTopic.LogEndOffset);
        Assert.Same(myTopic, reopened.GetOrCreateLog(new TopicPartition("my-topic", 12)));
    }

    [Fact]
    public async Task DeleteLog_removes_the_partition_directory()
    {
        using var fs = new InMemoryFileSystem();
        await using var manager = new LogManager(fs, "/data", new LogConfig(), new ManualTimeProvider());
        var tp = new TopicPartition("gone", 0);
        await manager.GetOrCreateLog(tp).AppendAndWaitAsync(TestBatches.Create(),
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(manager.DeleteLog(tp));

        Assert.False(fs.DirectoryExists("/data/gone-0"));
        Assert.False(manager.TryGetLog(tp, out _));
        Assert.False(manager.DeleteLog(tp));
    }

    [Theory]
    [InlineData("orders-0", "orders", 0)]
    [InlineData("a-b-c-17", "a-b-c", 17)]
    public void Partition_directory_names_parse_at_the_last_dash(string name, string topic, int partition)
    {
        Assert.True(TopicPartition.TryParseDirectoryName(name, out var tp));
        Assert.Equal(new TopicPartition(topic, partition), tp);
        Assert.Equal(name, tp.DirectoryName);
    }

    [Theory]
    [InlineData("orders")]
    [InlineData("-3")]
    [InlineData("orders-x")]
    public void Other_directory_names_are_not_partitions(string name) =>
        Assert.False(TopicPartition.TryParseDirectoryName(name, out _));

    [Fact]
    public async Task Physical_disk_round_trip_with_fsync_durability_and_torn_tail_recovery()
    {
        var root = Path.Combine(Path.GetTempPath(), "lockstep-tests", "storage-" + Guid.NewGuid().ToString("N"));
        var fs = PhysicalFileSystem.Instance;
        var config = new LogConfig { SegmentBytes = 2048, IndexIntervalBytes = 256 };
        var tp = new TopicPartition("disk", 0);
        try
        {
            var written = new List<byte[]>();
            await using (var manager = new LogManager(fs, root, config, TimeProvider.System))
            {
                var log = manager.GetOrCreateLog(tp);
                var acks = new List<Task<LogAppendInfo>>();
                for (var i = 0; i < 40; i++)
                {
                    var batch = TestBatches.Create(recordCount: 2, valueSize: 50, fill: (byte)i);
                    written.Add(batch);
                    acks.Add(log.AppendAndWaitAsync(batch, cancellationToken: TestContext.Current.CancellationToken));
                }

                await Task.WhenAll(acks);
                Assert.Equal(80, log.HighWatermark);
                Assert.True(log.SegmentCount > 1);
            }

            // A torn write at the end of the active segment, as a crash mid-write would leave.
            var lastLog = Directory.GetFiles(Path.Combine(root, "disk-0"), "*.log")
                .Order(StringComparer.Ordinal)
                .Last();
            await File.AppendAllBytesAsync(lastLog, written[0][..30], TestContext.Current.CancellationToken);

            await using (var manager = new LogManager(fs, root, config, TimeProvider.System))
            {
                manager.LoadLogs();
                Assert.True(manager.TryGetLog(tp, out var log));
                Assert.Equal(80, log.LogEndOffset);
                var bytes = new List<byte>();
                for (var from = 0L; from < log.HighWatermark;)
                {
                    using var result = log.Read(from, 1000, log.HighWatermark);
                    from = TestBatches.Parse(result.Records.Span)[^1].LastOffset + 1;
                    bytes.AddRange(result.Records.ToArray());
                }

                Assert.Equal(written.SelectMany(b => b).ToArray(), bytes.ToArray());
                Assert.Equal(80, (await log.AppendAndWaitAsync(TestBatches.Create(),
                    cancellationToken: TestContext.Current.CancellationToken)).BaseOffset);
            }
        }
        finally
        {
            fs.DeleteDirectory(root);
        }
    }
}
