using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.Storage;

/// <summary>
/// Group commit for <see cref="Durability.Fsync"/> logs: one background loop that, in each round, fsyncs every
/// partition log that was appended to since the previous round and then completes their acknowledgement waiters.
/// Appends from any number of connections and partitions that arrive while an fsync is running share the next
/// one, so the fsync rate is bounded by the disk, not by the request rate.
/// </summary>
/// <remarks>
/// <para>Threading: <see cref="PartitionLog"/> calls <c>Schedule</c> from any thread after an append; the loop is
/// the only consumer of the queue (a single-reader channel). A failed fsync takes only that partition offline (its
/// waiters fault with <see cref="IOException"/>); the loop continues with the others.</para>
/// <para>One flusher is shared by all logs of a <see cref="LogManager"/>; logs opened directly need one too.</para>
/// </remarks>
public sealed class LogFlusher : IAsyncDisposable
{
    private readonly Channel<PartitionLog> _dirty = Channel.CreateUnbounded<PartitionLog>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    private readonly ILogger _logger;
    private readonly Task _loop;

    // Written only by the loop; read by anyone (diagnostics).
    private long _rounds;

    /// <summary>Starts the background loop.</summary>
    /// <param name="logger">Receives fsync failures; optional.</param>
    public LogFlusher(ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Number of completed flush rounds (each fsyncs every log that was dirty at its start).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Stops the loop after flushing what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _dirty.Writer.TryComplete();
#pragma warning disable VSTHRD003 // The loop task was started by this instance, not captured from elsewhere.
        await _loop.ConfigureAwait(false);
#pragma warning restore VSTHRD003
    }

    /// <summary>Queues <paramref name="log"/> for the next round.</summary>
    internal void Schedule(PartitionLog log)
    {
        if (!_dirty.Writer.TryWrite(log))
        {
            // The flusher is shutting down: flush inline so that no acknowledgement waits forever.
            try
            {
                log.Flush();
            }
            catch (IOException ex)
            {
                _logger.LogError(ex, "Inline flush of {TopicPartition} failed", log.TopicPartition);
            }
        }
    }

    private async Task RunAsync()
    {
        var round = new HashSet<PartitionLog>();
        var reader = _dirty.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Drain everything queued so far: this is the group. Duplicates (many appends to one log) collapse.
            while (reader.TryRead(out var log))
            {
                round.Add(log);
            }

            foreach (var log in round)
            {
                try
                {
                    log.Flush();
                }
                catch (IOException ex)
                {
                    // The log has failed its waiters and gone offline; other partitions are unaffected.
                    _logger.LogError(ex, "Group commit fsync failed for {TopicPartition}", log.TopicPartition);
                }
            }

            round.Clear();
            Interlocked.Increment(ref _rounds);
        }
    }
}
