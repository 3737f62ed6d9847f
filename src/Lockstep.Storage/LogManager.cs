using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.Storage;

/// <summary>
/// Owns every partition log under one data directory (<c>log.dirs</c>, single directory) and the shared
/// <see cref="LogFlusher"/>. Partition directories are named <c>topic-partition</c>, as in Kafka.
/// </summary>
/// <remarks>
/// Thread-safety: all members may be called concurrently. The log map is a concurrent dictionary; creation and
/// deletion of a log are serialized by <c>_lifecycleLock</c> so that two creators of one partition get the same
/// instance.
/// </remarks>
public sealed class LogManager : IAsyncDisposable
{
    private readonly IFileSystem _fs;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<TopicPartition, PartitionLog> _logs = new();
    private readonly Lock _lifecycleLock = new();
    private bool _disposed;

    /// <summary>
    /// Creates the manager; call <see cref="LoadLogs"/> to open (and recover) the partitions already on disk.
    /// </summary>
    /// <param name="fs">The file system.</param>
    /// <param name="dataDirectory">The data directory; created when missing.</param>
    /// <param name="defaultConfig">Settings for logs opened without explicit ones.</param>
    /// <param name="time">The clock (injected; style-guide.md §3.2 rule 5).</param>
    /// <param name="loggerFactory">Logging; optional.</param>
    public LogManager(IFileSystem fs, string dataDirectory, LogConfig defaultConfig, TimeProvider time,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(dataDirectory);
        ArgumentNullException.ThrowIfNull(defaultConfig);
        ArgumentNullException.ThrowIfNull(time);
        defaultConfig.Validate();
        _fs = fs;
        _time = time;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        DataDirectory = dataDirectory;
        DefaultConfig = defaultConfig;
        Flusher = new LogFlusher(_loggerFactory.CreateLogger<LogFlusher>());
        _fs.CreateDirectory(dataDirectory);
    }

    /// <summary>The data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>Settings used when a log is opened without explicit ones.</summary>
    public LogConfig DefaultConfig { get; }

    /// <summary>The group-commit flusher shared by the managed logs.</summary>
    public LogFlusher Flusher { get; }

    /// <summary>A snapshot of the open logs.</summary>
    public IReadOnlyCollection<PartitionLog> Logs => _logs.Values.ToArray();

    /// <summary>
    /// Opens every partition directory under the data directory, running recovery on each.
    /// <paramref name="configFor"/> supplies per-topic settings (the broker's topic configs); by default
    /// <see cref="DefaultConfig"/>. Directories whose names are not <c>topic-partition</c> are skipped.
    /// </summary>
    public void LoadLogs(Func<TopicPartition, LogConfig>? configFor = null)
    {
        foreach (var directory in _fs.ListDirectories(DataDirectory))
        {
            if (TopicPartition.TryParseDirectoryName(Path.GetFileName(directory), out var topicPartition))
            {
                GetOrCreateLog(topicPartition, configFor?.Invoke(topicPartition));
            }
        }
    }

    /// <summary>Returns the open log of <paramref name="topicPartition"/>, opening or creating it if needed.</summary>
    public PartitionLog GetOrCreateLog(TopicPartition topicPartition, LogConfig? config = null)
    {
        if (_logs.TryGetValue(topicPartition, out var existing))
        {
            return existing;
        }

        lock (_lifecycleLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_logs.TryGetValue(topicPartition, out existing))
            {
                return existing;
            }

            var log = PartitionLog.Open(_fs, Path.Combine(DataDirectory, topicPartition.DirectoryName),
                topicPartition, config ?? DefaultConfig, _time, Flusher, _loggerFactory.CreateLogger<PartitionLog>());
            _logs[topicPartition] = log;
            return log;
        }
    }

    /// <summary>Returns the open log of <paramref name="topicPartition"/> if there is one.</summary>
    public bool TryGetLog(TopicPartition topicPartition, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)]
        out PartitionLog log) => _logs.TryGetValue(topicPartition, out log);

    /// <summary>Closes a log and deletes its directory (DeleteTopics). Returns false when it was not open.</summary>
    public bool DeleteLog(TopicPartition topicPartition)
    {
        lock (_lifecycleLock)
        {
            if (!_logs.TryRemove(topicPartition, out var log))
            {
                return false;
            }

            log.DisposeAndDelete();
            _fs.FlushDirectory(DataDirectory);
            return true;
        }
    }

    /// <summary>Runs retention on every log; returns the number of segments deleted.</summary>
    public int ApplyRetention()
    {
        var deleted = 0;
        foreach (var log in _logs.Values)
        {
            try
            {
                deleted += log.ApplyRetention();
            }
            catch (IOException)
            {
                // An offline log keeps its data until it is reopened; the others still get retention.
            }
        }

        return deleted;
    }

    /// <summary>Clean shutdown: stops the flusher, then flushes and closes every log.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lifecycleLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await Flusher.DisposeAsync().ConfigureAwait(false);
        foreach (var log in _logs.Values)
        {
            log.Dispose();
        }

        _logs.Clear();
    }
}
