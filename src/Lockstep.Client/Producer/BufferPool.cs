using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Client.Producer;

/// <summary>
/// Bounds the bytes of records buffered and not yet acknowledged (<c>buffer.memory</c>, style-guide §3.8). A
/// reservation that does not fit waits, in FIFO order, until enough bytes are released — the producer's
/// back-pressure. Accounting only: the records live in their batches.
/// </summary>
internal sealed class BufferPool
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _available;

    public BufferPool(long capacity)
    {
        Capacity = capacity;
        _available = capacity;
    }

    public long Capacity { get; }

    public long Available
    {
        get
        {
            lock (_lock)
            {
                return _available;
            }
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> if that needs no wait (same FIFO rule as
    /// <see cref="ReserveAsync"/>); false leaves the pool unchanged.</summary>
    public bool TryReserve(long bytes)
    {
        lock (_lock)
        {
            if (bytes > Capacity || _waiters.Count > 0 || _available < bytes)
            {
                return false;
            }

            _available -= bytes;
            return true;
        }
    }

    /// <summary>Reserves <paramref name="bytes"/>, waiting while the pool is short.</summary>
    public ValueTask ReserveAsync(long bytes, CancellationToken cancellationToken)
    {
        if (bytes > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"A record of {bytes} bytes exceeds buffer.memory ({Capacity}).");
        }

        Waiter waiter;
        lock (_lock)
        {
            // FIFO: a small reservation must not overtake a large one already waiting.
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return ValueTask.CompletedTask;
            }

            waiter = new Waiter(bytes);
            waiter.Node = _waiters.AddLast(waiter);
        }

        return new ValueTask(WaitAsync(waiter, cancellationToken));
    }

    private async Task WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        try
        {
            await waiter.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_lock)
            {
                if (waiter.Node?.List is not null)
                {
                    _waiters.Remove(waiter.Node);
                    throw;
                }
            }

            // Granted concurrently with the cancellation: give the bytes back.
            Release(waiter.Bytes);
            throw;
        }
    }

    /// <summary>Returns bytes and wakes waiters that now fit, in order.</summary>
    public void Release(long bytes)
    {
        List<Waiter>? granted = null;
        lock (_lock)
        {
            _available += bytes;
            while (_waiters.First is { } first && first.Value.Bytes <= _available)
            {
                _available -= first.Value.Bytes;
                _waiters.RemoveFirst();
                (granted ??= []).Add(first.Value);
            }
        }

        if (granted is not null)
        {
            foreach (var waiter in granted)
            {
                waiter.Completion.TrySetResult();
            }
        }
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public LinkedListNode<Waiter>? Node { get; set; }

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
