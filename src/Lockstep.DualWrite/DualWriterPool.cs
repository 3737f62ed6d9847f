using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Lockstep.DualWrite;

/// <summary>
/// Concurrency for one application instance (dual-write.md §2): a fixed pool of transactional ids
/// <c>prefix-0 … prefix-(N-1)</c>, each with its own <see cref="DualWriter"/> (producer and state row). A unit of work
/// runs on whichever id is free, so up to N units proceed in parallel while each id still carries one transaction at
/// a time.
/// </summary>
/// <remarks>
/// Not covered (later work): leasing ids across instances — two instances must use different prefixes — and per-key
/// routing (units here go to any free id, so two ids may commit in an order different from the DB's). With SQLite the
/// database's single write lock serialises the units anyway; the pool pays off on databases with row locks.
/// </remarks>
public sealed class DualWriterPool : IAsyncDisposable
{
    private readonly DualWriter[] _writers;
    private readonly Channel<DualWriter> _free;
    private int _live;
    private int _disposed;

    /// <summary>Creates the pool; nothing is contacted until <see cref="RecoverAllAsync"/> or the first unit.</summary>
    /// <param name="store">The shared store (one state row per id).</param>
    /// <param name="size">Number of transactional ids (≥ 1).</param>
    /// <param name="transactionalIdPrefix">Ids are <c>prefix-0</c> … <c>prefix-(size-1)</c>.</param>
    /// <param name="configure">Fills in the remaining settings of each writer (bootstrap servers, producer settings,
    /// observer); <see cref="DualWriterOptions.TransactionalId"/> is set by the pool.</param>
    public DualWriterPool(IDualWriteStore store, int size, string transactionalIdPrefix, Action<DualWriterOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentException.ThrowIfNullOrWhiteSpace(transactionalIdPrefix);
        ArgumentNullException.ThrowIfNull(configure);
        _writers = new DualWriter[size];
        _live = size;
        _free = Channel.CreateUnbounded<DualWriter>();
        for (var i = 0; i < size; i++)
        {
            var options = new DualWriterOptions();
            configure(options);
            options.TransactionalId = string.Create(CultureInfo.InvariantCulture, $"{transactionalIdPrefix}-{i}");
            _writers[i] = new DualWriter(store, options);
            _free.Writer.TryWrite(_writers[i]);
        }
    }

    /// <summary>The transactional ids of the pool.</summary>
    public IReadOnlyList<string> TransactionalIds => [.. _writers.Select(w => w.TransactionalId)];

    /// <summary>Runs start-up recovery for every id of the pool, in parallel (see <see cref="DualWriter.RecoverAsync"/>).
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Per id, what recovery did.</returns>
    public async Task<IReadOnlyDictionary<string, RecoveryOutcome>> RecoverAllAsync(CancellationToken cancellationToken = default)
    {
        var outcomes = await Task.WhenAll(_writers.Select(w => w.RecoverAsync(cancellationToken))).ConfigureAwait(false);
        return _writers.Select((w, i) => (w.TransactionalId, outcomes[i])).ToDictionary(p => p.TransactionalId, p => p.Item2);
    }

    /// <summary>
    /// Runs a unit of work on a free id (waiting for one if all are busy); see <see cref="DualWriter.ExecuteAsync{T}"/>
    /// for the semantics and exceptions. An id whose writer was fenced leaves the pool.
    /// </summary>
    /// <typeparam name="T">What the unit returns.</typeparam>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels waiting for a free id, or the unit before its DB commit.</param>
    /// <returns>The unit's result once committed.</returns>
    /// <exception cref="InvalidOperationException">Every id of the pool has been fenced.</exception>
    public async Task<T> ExecuteAsync<T>(
        Func<DualWriteContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        DualWriter writer;
        try
        {
            writer = await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new InvalidOperationException("Every transactional id of the pool was fenced by another instance.", e);
        }

        var keep = true;
        try
        {
            return await writer.ExecuteAsync(work, cancellationToken).ConfigureAwait(false);
        }
        catch (DualWriterFencedException)
        {
            // Another instance owns this id now; handing it out again would only fence that instance back.
            keep = false;
            throw;
        }
        finally
        {
            if (keep)
            {
                _free.Writer.TryWrite(writer);
            }
            else if (Interlocked.Decrement(ref _live) == 0)
            {
                _free.Writer.TryComplete();
            }
        }
    }

    /// <summary>Closes every writer (prepared transactions stay on the broker for recovery).</summary>
    /// <returns>A task that completes when all writers are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _free.Writer.TryComplete();
        foreach (var writer in _writers)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
