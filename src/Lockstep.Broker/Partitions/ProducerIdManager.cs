using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Lockstep.Broker.Internal;
using Lockstep.Protocol;

namespace Lockstep.Broker.Partitions;

/// <summary>
/// Hands out producer ids for InitProducerId: monotonic, never reused, also across restarts. Ids are reserved in
/// blocks of <see cref="BlockSize"/> whose end is persisted (atomically, fsynced) before the first id of the block is
/// returned, as Kafka's controller-side <c>ProducerIdControlManager</c> does with <c>ProducerIdsRecord</c>. A crash
/// wastes the rest of the current block, never repeats an id.
/// </summary>
/// <remarks>
/// Also remembers the epoch last issued per idempotent producer id, for the KIP-360 epoch bump (see
/// <see cref="InitIdempotent"/>). That memory is in RAM only and pruned after <c>producer.id.expiration.ms</c>; an
/// unknown id simply gets a fresh one. All state is guarded by <c>_lock</c>: the operations are tiny and never wait
/// for I/O except the once-per-block file write.
/// </remarks>
internal sealed class ProducerIdManager
{
    /// <summary>Ids reserved per persisted block (Kafka's <c>ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE</c>).</summary>
    public const int BlockSize = 1000;

    private readonly Lock _lock = new();
    private readonly BrokerCore _core;
    private readonly Dictionary<long, (short Epoch, long LastUsedMs)> _issued = [];
    private long _next;
    private long _blockEnd;

    /// <summary>Creates the manager; <see cref="Open"/> reads the persisted block end.</summary>
    public ProducerIdManager(BrokerCore core) => _core = core;

    private string StatePath => Path.Combine(_core.DataDirectory, "producer-ids");

    /// <summary>Reads the first id not yet reserved. Ids start at 0 on a new data directory.</summary>
    public void Open()
    {
        var bytes = AtomicFile.TryRead(_core.FileSystem, StatePath);
        long next = 0;
        if (bytes is not null)
        {
            // Format: "v1 <first unreserved id>\n" — small, human-readable, replaced atomically.
            var parts = Encoding.ASCII.GetString(bytes).Split(' ', '\n');
            if (parts.Length < 2 || parts[0] != "v1"
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out next))
            {
                throw new InvalidDataException($"{StatePath} is corrupt; refusing to start (producer ids could be reused).");
            }
        }

        lock (_lock)
        {
            _next = next;
            _blockEnd = next;
        }
    }

    /// <summary>Returns a never-used producer id, reserving (and persisting) a new block when needed.</summary>
    public long NextProducerId()
    {
        lock (_lock)
        {
            return NextLocked();
        }
    }

    /// <summary>
    /// InitProducerId without a transactional id. With no id/epoch given (or an id this broker does not remember),
    /// returns a new id with epoch 0, which is all Apache Kafka does (<c>TransactionCoordinator.handleInitProducerId</c>
    /// "blindly accept"). With the id and the epoch last issued for it (KIP-360 v3+), bumps the epoch of the same id
    /// so that batches of the old epoch are fenced on every partition; a repeat of the previous epoch is treated as
    /// a retry of a bump whose response was lost. Any other epoch is PRODUCER_FENCED. An exhausted epoch moves to a
    /// new id, as Kafka does on epoch overflow.
    /// </summary>
    public (ErrorCode Error, long ProducerId, short Epoch) InitIdempotent(long producerId, short epoch)
    {
        var now = _core.Time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_lock)
        {
            if (producerId >= 0 && _issued.TryGetValue(producerId, out var issued))
            {
                if (epoch == issued.Epoch && epoch < short.MaxValue - 1)
                {
                    var bumped = (short)(epoch + 1);
                    _issued[producerId] = (bumped, now);
                    return (ErrorCode.None, producerId, bumped);
                }

                if (epoch == issued.Epoch - 1)
                {
                    _issued[producerId] = (issued.Epoch, now);
                    return (ErrorCode.None, producerId, issued.Epoch);
                }

                if (epoch != issued.Epoch)
                {
                    return (ErrorCode.ProducerFenced, -1, -1);
                }
            }

            var id = NextLocked();
            _issued[id] = (0, now);
            return (ErrorCode.None, id, 0);
        }
    }

    /// <summary>Notes that a producer was active, so its remembered epoch is not pruned.</summary>
    public void Touch(long producerId)
    {
        var now = _core.Time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_lock)
        {
            if (_issued.TryGetValue(producerId, out var issued))
            {
                _issued[producerId] = (issued.Epoch, now);
            }
        }
    }

    /// <summary>Forgets the epochs of producers idle longer than <paramref name="expirationMs"/>.</summary>
    public int Expire(long nowMs, long expirationMs)
    {
        lock (_lock)
        {
            var expired = _issued.Where(kv => nowMs - kv.Value.LastUsedMs >= expirationMs).Select(kv => kv.Key).ToList();
            foreach (var id in expired)
            {
                _issued.Remove(id);
            }

            return expired.Count;
        }
    }

    private long NextLocked()
    {
        if (_next == _blockEnd)
        {
            var end = checked(_blockEnd + BlockSize);
            // Persist before handing out any id of the block: after a crash the next broker starts at `end`.
            AtomicFile.Write(_core.FileSystem, StatePath, Encoding.ASCII.GetBytes(
                string.Create(CultureInfo.InvariantCulture, $"v1 {end}\n")));
            _blockEnd = end;
        }

        return _next++;
    }
}
