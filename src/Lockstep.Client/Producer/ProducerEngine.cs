using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Internal;
using Lockstep.Client.Transactions;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Records;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client.Producer;

/// <summary>
/// The producer's engine: the record accumulator (per-partition batches, linger, batch.size, buffer.memory) and the
/// sender loop (drain ready batches per leader, Produce, retry in order, idempotent sequences and KIP-360 epoch
/// bumps). Java splits this into <c>RecordAccumulator</c> and <c>Sender</c>; here one lock guards both halves,
/// which keeps the ordering rules easy to check.
/// </summary>
/// <remarks>
/// <para>Threading: <c>_lock</c> guards every mutable field below and every <see cref="ProducerBatch"/> and
/// <see cref="PartitionState"/>. Appends are additionally serialised by <c>_appendLock</c> (FIFO) so that records
/// are appended in ProduceAsync call order even when a call must wait for metadata or buffer space — Java gets this
/// for free because <c>send()</c> blocks its thread. Network I/O happens outside <c>_lock</c>.</para>
/// <para>Invariants: <c>_totalInFlight</c> = Σ <c>_nodeInFlight</c>; an epoch bump runs only when
/// <c>_totalInFlight</c> is 0; a batch's sequence range never changes while it is in flight.</para>
/// </remarks>
internal sealed partial class ProducerEngine : IAsyncDisposable
{
    private readonly KafkaCluster _cluster;
    private readonly KafkaProducerOptions _options;
    private readonly ILogger _logger;
    private readonly ClientDiagnostics _diagnostics;
    private readonly TimeProvider _time;
    private readonly CompressionCodecRegistry _codecs = KafkaCompression.CreateRegistry();
    private readonly BufferPool _pool;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private readonly Lock _lock = new();
    private readonly Dictionary<TopicPartition, PartitionState> _partitions = [];
    private readonly Dictionary<string, (int Partition, long Bytes)> _sticky = new(StringComparer.Ordinal);
    private readonly HashSet<ProducerBatch> _incomplete = [];
    private readonly Dictionary<int, int> _nodeInFlight = [];
    private readonly Random _random = new();
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Completed whenever _totalInFlight is 0; replaced when it leaves 0.
    private TaskCompletionSource _idle = CompletedSource();
    private Task _loop = Task.CompletedTask;
    private Task? _metadataRefresh;
    private int _totalInFlight;
    private int _flushers;
    private bool _closing;
    private bool _aborting;
    private Exception? _fatal;

    // Producer identity (KIP-98). Guarded by _lock; written by the loop (idempotent producers) or by the
    // TransactionManager (transactional producers, while no batch is in flight).
    private long _producerId = RecordBatchHeader.NoProducerId;
    private short _producerEpoch = -1;
    private bool _identityReady;
    private bool _bumpRequested;

    // Partitions whose sequenced batches are rewritten by the pending idempotent epoch bump (Java's
    // TransactionManager.partitionsToRewriteSequences). Every other partition keeps its batches' id/epoch/sequence.
    private readonly HashSet<PartitionState> _partitionsToRewrite = [];

    public ProducerEngine(KafkaCluster cluster, KafkaProducerOptions options, TransactionManager? transactions)
    {
        _cluster = cluster;
        _options = options;
        _time = options.TimeProvider;
        _logger = cluster.LoggerFactory.CreateLogger("Lockstep.Client.Producer");
        _diagnostics = cluster.Diagnostics;
        _pool = new BufferPool(options.BufferMemory);
        Transactions = transactions;
    }

    public TransactionManager? Transactions { get; }

    private bool Idempotent => _options.EnableIdempotence;

    /// <summary>Starts the sender loop.</summary>
    public void Start() => _loop = RunAsync();

    /// <summary>Current producer id and epoch (-1/-1 before initialisation).</summary>
    public (long ProducerId, short Epoch) Identity
    {
        get
        {
            lock (_lock)
            {
                return (_producerId, _producerEpoch);
            }
        }
    }

    /// <summary>True while an idempotent epoch bump is requested and not yet done (tests wait for it).</summary>
    internal bool EpochBumpPending
    {
        get
        {
            lock (_lock)
            {
                return _bumpRequested;
            }
        }
    }

    /// <summary>
    /// Installs a new producer id/epoch and restarts every partition's sequence at 0 (a new epoch starts a new
    /// sequence space on the broker). Callers guarantee no batch is in flight.
    /// </summary>
    public void SetIdentity(long producerId, short epoch)
    {
        lock (_lock)
        {
            _producerId = producerId;
            _producerEpoch = epoch;
            _identityReady = true;
            ResetSequencesLocked();
        }

        Signal();
    }

    /// <summary>A new identity from InitProducerId (first one, or a transactional init/bump, with nothing in flight):
    /// every partition starts over at sequence 0.</summary>
    private void ResetSequencesLocked()
    {
        foreach (var part in _partitions.Values)
        {
            StartSequencesAtBeginningLocked(part);
        }

        _partitionsToRewrite.Clear();
    }

    /// <summary>
    /// Java's <c>TxnPartitionMap.startSequencesAtBeginning</c>: moves the partition to the current identity at
    /// sequence 0 and clears the sequences of its queued batches, which are re-stamped in queue order at the next drain.
    /// Only for batches known not to be in the log under their old sequence (see <see cref="RewriteSequencesLocked"/>).
    /// </summary>
    private void StartSequencesAtBeginningLocked(PartitionState part)
    {
        part.ProducerId = _producerId;
        part.ProducerEpoch = _producerEpoch;
        part.NextSequence = 0;
        part.LastAckedSequence = -1;
        part.UnresolvedNextSequence = null;
        part.Retrying = false;
        foreach (var batch in part.Queue)
        {
            batch.BaseSequence = RecordBatchHeader.NoSequence;
        }
    }

    /// <summary>
    /// After an idempotent epoch bump (KIP-360), rewrites the sequences of the partitions that asked for it and of
    /// partitions with nothing sequenced; Java's <c>TransactionManager.bumpIdempotentProducerEpoch</c>.
    /// </summary>
    /// <remarks>
    /// A batch of any other partition may already be in the log (sent, answer lost). Re-stamping it with the new
    /// epoch and sequence 0.. would make the broker append it a second time (issue 5), so it keeps its original id,
    /// epoch and sequence: its retry hits the broker's duplicate detection of the last five batches and is answered
    /// with the original offset. New batches for such a partition wait until its old-epoch batches are done, then it
    /// starts at 0 (<c>RecordAccumulator.shouldStopDrainBatchesForPartition</c> and
    /// <c>TransactionManager.maybeUpdateProducerIdAndEpoch</c>, see <see cref="DrainAndSend"/>). The partitions that
    /// asked for the bump are safe to rewrite: the broker rejected their lowest unacknowledged sequence as out of
    /// order, and it appends an epoch's batches strictly in sequence order, so none of their later batches is in the
    /// log either.
    /// </remarks>
    private void RewriteSequencesLocked()
    {
        foreach (var part in _partitions.Values)
        {
            if (_partitionsToRewrite.Contains(part) || !part.HasSequencedBatches)
            {
                StartSequencesAtBeginningLocked(part);
            }
        }

        _partitionsToRewrite.Clear();
    }

    internal void Signal()
    {
        lock (_lock)
        {
            _signal.TrySetResult();
        }
    }

    /// <summary>Poisons the engine: queued batches fail with <paramref name="error"/>, new appends are refused.</summary>
    public void SetFatal(Exception error)
    {
        lock (_lock)
        {
            _fatal ??= error;
            FailQueuedLocked(error);
        }

        Log.Fatal(_logger, error);
        Signal();
    }

    private void FailQueuedLocked(Exception error)
    {
        foreach (var part in _partitions.Values)
        {
            var node = part.Queue.First;
            while (node is not null)
            {
                var next = node.Next;
                if (!node.Value.InFlight)
                {
                    part.Queue.Remove(node);
                    FinishLocked(node.Value, error);
                }

                node = next;
            }
        }
    }

    /// <summary>
    /// Transaction abort (Java's <c>abortUndrainedBatches</c>): batches not in flight fail with
    /// <paramref name="error"/>, and until <see cref="EndAbort"/> any batch coming back for a retry fails too.
    /// </summary>
    public void BeginAbort(Exception error)
    {
        lock (_lock)
        {
            _aborting = true;
            FailQueuedLocked(error);
        }
    }

    public void EndAbort()
    {
        lock (_lock)
        {
            _aborting = false;
        }
    }

    /// <summary>Waits until every batch appended before the call is done (acknowledged or failed).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Counted first: while flushing, batches go out without lingering, which also frees buffer space for
            // an append that is blocked on it.
            _flushers++;
        }

        Signal();
        try
        {
            // Appends are FIFO through _appendLock: once we hold it, every ProduceAsync called before this flush
            // has put its record into a batch (Java gets this because send() appends synchronously).
            await _appendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            Task[] pending;
            try
            {
                lock (_lock)
                {
                    pending = _incomplete.Select(b => b.Done.Task).ToArray();
                }
            }
            finally
            {
                _appendLock.Release();
            }

            Signal();
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                _flushers--;
            }
        }
    }

    /// <summary>Waits until no Produce request is in flight (used before transaction state changes).</summary>
    public async Task WaitForNoInFlightAsync(CancellationToken cancellationToken)
    {
        Task idle;
        lock (_lock)
        {
            idle = _idle.Task;
        }

        await idle.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        source.SetResult();
        return source;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _closing = true;
        }

        Signal();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        finally
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            lock (_lock)
            {
                FailQueuedLocked(new ObjectDisposedException(nameof(KafkaProducer), "The producer was disposed."));
            }
        }
    }

    /// <summary>Stops the sender now, failing whatever is still queued (dispose after a failed flush).</summary>
    public void Stop() => _stop.Cancel();
}
