using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Lockstep.Client;
using Lockstep.DualWrite.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.DualWrite;

/// <summary>
/// Concurrency and scale-out (dual-write.md §2): a pool of <see cref="DualWriterPoolOptions.PoolSize"/> slots, each
/// carrying one transactional id with its own <see cref="DualWriter"/> (producer and state row), so up to PoolSize
/// units proceed in parallel while each id still carries one transaction at a time.
/// </summary>
/// <remarks>
/// <para><b>Leases.</b> With <see cref="DualWriterPoolOptions.UseLeases"/> (the default) the ids come from a
/// cluster-wide space <c>prefix-0 … prefix-(TotalIds-1)</c> shared by every instance of the service. On start the pool
/// leases up to PoolSize free or expired ids in the database and recovers each before using it; in the background it
/// renews its leases (every <see cref="DualWriterPoolOptions.LeaseRenewalInterval"/>) and scans the state rows (every
/// <see cref="DualWriterPoolOptions.TakeoverScanInterval"/>) for ids whose lease expired — a dead instance's — which it
/// acquires and recovers (committing or aborting a transaction left prepared, from the database's decision), keeping
/// the id if a slot is empty and releasing it otherwise. An id whose renewal fails leaves the pool when its current
/// unit ends; a fenced id (<see cref="DualWriterFencedException"/>) leaves at once and this instance leaves it alone
/// for two lease durations. Emptied slots are refilled from free ids. Leases only steer which instance drives an id: correctness rests
/// on Kafka's epoch fencing and the state-row lock, never on clocks.</para>
/// <para><b>Key affinity.</b> <c>ExecuteAsync(key, …)</c> runs the unit on slot <c>murmur2(key) mod PoolSize</c>.
/// Guaranteed: within one pool, units of one key run one at a time, and the events of a key's units appear in Kafka —
/// and so to read_committed consumers, which read in offset order — in the order of the units' database commits. That
/// holds even when the slot's id changes (lost lease, fencing, takeover) or a unit's Kafka commit is completed later
/// by recovery on another instance, because the next unit of the key produces only after the previous one's records
/// were acknowledged (step 5) and its database transaction committed (step 7), so its records get higher offsets;
/// each id still carries one transaction at a time. Conditions: the events' record key must hash to the same
/// partition for every unit of the key (use the affinity key as the record key). Not guaranteed: order between two
/// instances that run units of the same key concurrently (each serialises only its own; route a key to one instance,
/// e.g. by the partition of the input it consumes), and across a change of PoolSize, which remaps keys to slots. Units
/// of one key waiting for their slot are not strictly first-come-first-served; await one before starting the next if
/// call order (rather than commit order) matters.</para>
/// <para><b>Without leases</b> (<see cref="DualWriterPoolOptions.UseLeases"/> false, and the
/// <see cref="DualWriterPool(IDualWriteStore, int, string, Action{DualWriterOptions})"/> constructor) the pool uses
/// <c>prefix-0 … prefix-(PoolSize-1)</c> unconditionally; a fenced id leaves for good and when every id is fenced units
/// fail with <see cref="InvalidOperationException"/>.</para>
/// <para>Metrics and traces: <see cref="DualWriteTelemetry"/>.</para>
/// </remarks>
public sealed class DualWriterPool : IAsyncDisposable
{
    private readonly IDualWriteStore _store;
    private readonly DualWriterPoolOptions _options;
    private readonly Action<DualWriterOptions>? _configureWriter;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Slot[] _slots;

    /// <summary>Filled slots not held by an unkeyed unit (each at most once, see <see cref="Slot.Queued"/>).</summary>
    private readonly Channel<Slot> _free = Channel.CreateUnbounded<Slot>();
    private volatile BrokerCapabilityException? _fatal;

    /// <summary>Asks the scan loop to look for ids now (a slot emptied or a keyed unit waits for one).</summary>
    private readonly Channel<bool> _scanSignal = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Serialises <see cref="AcquireAsync"/> (the only place that fills slots) and stopping.</summary>
    private readonly SemaphoreSlim _membership = new(1, 1);

    /// <summary>Ids this instance was fenced on, with when: another producer drives them, so this instance leaves them
    /// alone for two lease durations (taking them straight back would only fence that producer in turn; a producer
    /// that holds no lease — a misconfigured instance — would otherwise ping-pong with us).</summary>
    private readonly ConcurrentDictionary<string, long> _quarantined = new(StringComparer.Ordinal);

    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lifecycle = new();
    private Task? _startTask;
    private Task? _stopTask;
    private Task _background = Task.CompletedTask;
    private int _live;
    private volatile bool _stopped;

    /// <summary>Creates a lease-less pool of the fixed ids <c>prefix-0</c> … <c>prefix-(size-1)</c> (a single instance;
    /// see <see cref="DualWriterPoolOptions.UseLeases"/>). Nothing is contacted until <see cref="RecoverAllAsync"/> or
    /// the first unit.</summary>
    /// <param name="store">The shared store (one state row per id).</param>
    /// <param name="size">Number of transactional ids (≥ 1).</param>
    /// <param name="transactionalIdPrefix">Ids are <c>prefix-0</c> … <c>prefix-(size-1)</c>.</param>
    /// <param name="configure">Fills in the remaining settings of each writer (bootstrap servers, producer settings,
    /// observer); <see cref="DualWriterOptions.TransactionalId"/> is set by the pool.</param>
    public DualWriterPool(IDualWriteStore store, int size, string transactionalIdPrefix, Action<DualWriterOptions> configure)
        : this(store, LegacyOptions(size, transactionalIdPrefix, configure), configure)
    {
    }

    /// <summary>Creates a pool. Nothing is contacted until <see cref="StartAsync"/> or the first unit (which starts the
    /// pool implicitly).</summary>
    /// <param name="store">The shared store (state rows and leases).</param>
    /// <param name="options">The pool's settings; validated here.</param>
    /// <exception cref="ArgumentException">The options are invalid (the message lists every problem).</exception>
    public DualWriterPool(IDualWriteStore store, DualWriterPoolOptions options)
        : this(store, options, null)
    {
    }

    private DualWriterPool(IDualWriteStore store, DualWriterPoolOptions options, Action<DualWriterOptions>? configureWriter)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _store = store;
        _options = options;
        _configureWriter = configureWriter;
        _logger = options.Logger ?? NullLogger.Instance;
        _time = options.TimeProvider ?? TimeProvider.System;
        _slots = new Slot[options.PoolSize];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot();
        }

        if (!options.UseLeases)
        {
            // Fixed membership: every id is this instance's from the start (recovered lazily before its first unit).
            for (var i = 0; i < _slots.Length; i++)
            {
                TryAssign(_slots[i], new Member(options.IdAt(i), CreateWriter(options.IdAt(i)), 0));
            }

            _live = _slots.Length;
            _startTask = Task.CompletedTask;
        }
    }

    /// <summary>The transactional ids the pool holds now, in id order (with leases this changes over time).</summary>
    public IReadOnlyList<string> TransactionalIds =>
        [.. _slots.Select(s => Volatile.Read(ref s.Member)?.Id).OfType<string>().Order(StringComparer.Ordinal)];

    /// <summary>The lease owner identity of this pool (<see cref="DualWriterPoolOptions.InstanceId"/>).</summary>
    public string InstanceId => _options.InstanceId;

    /// <summary>
    /// Starts the pool: with leases, acquires up to PoolSize free or expired ids, recovers each (and any expired id of
    /// another instance, which is released again if no slot is free), then starts renewing and scanning in the
    /// background. Without leases, recovers every id. Idempotent; the first unit calls it implicitly.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (start-up continues in the background).</param>
    /// <returns>A task that completes when the pool holds its initial ids.</returns>
    /// <exception cref="ObjectDisposedException">The pool was stopped.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_stopped, this);
        if (!_options.UseLeases)
        {
            await RecoverAllAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs recovery for every id the pool holds, in parallel (see <see cref="DualWriter.RecoverAsync"/>);
    /// starts the pool first if needed.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Per id, what recovery did.</returns>
    public async Task<IReadOnlyDictionary<string, RecoveryOutcome>> RecoverAllAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_stopped, this);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var members = _slots.Select(s => Volatile.Read(ref s.Member)).OfType<Member>().ToList();
        var outcomes = await Task.WhenAll(members.Select(m => m.Writer.RecoverAsync(cancellationToken))).ConfigureAwait(false);
        return members.Select((m, i) => (m.Id, outcomes[i])).ToDictionary(p => p.Id, p => p.Item2, StringComparer.Ordinal);
    }

    /// <summary>
    /// Runs a unit of work on a free id (waiting for one if all are busy); see <see cref="DualWriter.ExecuteAsync{T}"/>
    /// for the semantics and exceptions. An id whose writer was fenced leaves the pool.
    /// </summary>
    /// <typeparam name="T">What the unit returns.</typeparam>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels waiting for a free id, or the unit before its DB commit.</param>
    /// <returns>The unit's result once committed.</returns>
    /// <exception cref="InvalidOperationException">Every id of a lease-less pool has been fenced.</exception>
    /// <exception cref="ObjectDisposedException">The pool was stopped.</exception>
    public async Task<T> ExecuteAsync<T>(
        Func<DualWriteContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_stopped, this);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            Slot slot;
            try
            {
                slot = await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException e)
            {
                ObjectDisposedException.ThrowIf(_stopped, this);
                if (_fatal is { } fatal)
                {
                    throw new BrokerCapabilityException(fatal.MissingCapability, fatal.Message, fatal);
                }

                throw new InvalidOperationException("Every transactional id of the pool was fenced by another instance.", e);
            }

            Volatile.Write(ref slot.Queued, 0);
            if (Volatile.Read(ref slot.Member) is null)
            {
                continue; // Emptied since it was queued; it is queued again when refilled.
            }

            try
            {
                await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Enqueue(slot);
                throw;
            }

            if (Volatile.Read(ref slot.Member) is null)
            {
                slot.Gate.Release();
                continue;
            }

            return await RunOnSlotAsync(slot, work, requeue: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a unit of work that returns nothing on a free id; see <see cref="ExecuteAsync{T}(Func{DualWriteContext, CancellationToken, Task{T}}, CancellationToken)"/>.</summary>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels waiting for a free id, or the unit before its DB commit.</param>
    /// <returns>A task that completes when the unit has committed.</returns>
    public Task ExecuteAsync(Func<DualWriteContext, CancellationToken, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return ExecuteAsync<bool>(async (context, ct) =>
        {
            await work(context, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Runs a unit of work on the slot of <paramref name="key"/> (<c>murmur2(key) mod PoolSize</c>), so units of one key
    /// run one at a time and their events reach Kafka in the order of their DB commits; see the remarks of
    /// <see cref="DualWriterPool"/> for exactly what is guaranteed. Waits while the slot is busy or has no id (it is
    /// refilled from free or expired ids).
    /// </summary>
    /// <typeparam name="T">What the unit returns.</typeparam>
    /// <param name="key">The ordering key; use the events' record key (or one hashing to the same partition).</param>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels waiting for the slot, or the unit before its DB commit.</param>
    /// <returns>The unit's result once committed.</returns>
    /// <exception cref="InvalidOperationException">Every id of a lease-less pool has been fenced.</exception>
    /// <exception cref="ObjectDisposedException">The pool was stopped.</exception>
    public Task<T> ExecuteAsync<T>(
        ReadOnlySpan<byte> key, Func<DualWriteContext, CancellationToken, Task<T>> work,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return ExecuteOnSlotAsync(KeyAffinity.SlotOf(key, _slots.Length), work, cancellationToken);
    }

    /// <summary>Runs a unit of work on the slot of the UTF-8 bytes of <paramref name="key"/>; see
    /// <see cref="ExecuteAsync{T}(ReadOnlySpan{byte}, Func{DualWriteContext, CancellationToken, Task{T}}, CancellationToken)"/>.
    /// </summary>
    /// <typeparam name="T">What the unit returns.</typeparam>
    /// <param name="key">The ordering key.</param>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels waiting for the slot, or the unit before its DB commit.</param>
    /// <returns>The unit's result once committed.</returns>
    public Task<T> ExecuteAsync<T>(
        string key, Func<DualWriteContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ExecuteAsync(Encoding.UTF8.GetBytes(key).AsSpan(), work, cancellationToken);
    }

    /// <summary>Runs a unit of work that returns nothing on the slot of <paramref name="key"/>; see
    /// <see cref="ExecuteAsync{T}(ReadOnlySpan{byte}, Func{DualWriteContext, CancellationToken, Task{T}}, CancellationToken)"/>.
    /// </summary>
    /// <param name="key">The ordering key (its UTF-8 bytes are hashed).</param>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels waiting for the slot, or the unit before its DB commit.</param>
    /// <returns>A task that completes when the unit has committed.</returns>
    public Task ExecuteAsync(
        string key, Func<DualWriteContext, CancellationToken, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return ExecuteAsync<bool>(key, async (context, ct) =>
        {
            await work(context, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>Runs a unit of work that returns nothing on the slot of <paramref name="key"/>; see
    /// <see cref="ExecuteAsync{T}(ReadOnlySpan{byte}, Func{DualWriteContext, CancellationToken, Task{T}}, CancellationToken)"/>.
    /// </summary>
    /// <param name="key">The ordering key.</param>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels waiting for the slot, or the unit before its DB commit.</param>
    /// <returns>A task that completes when the unit has committed.</returns>
    public Task ExecuteAsync(
        ReadOnlySpan<byte> key, Func<DualWriteContext, CancellationToken, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return ExecuteOnSlotAsync<bool>(KeyAffinity.SlotOf(key, _slots.Length), async (context, ct) =>
        {
            await work(context, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>The slot index <paramref name="key"/> maps to (for diagnostics and tests).</summary>
    internal int SlotOf(ReadOnlySpan<byte> key) => KeyAffinity.SlotOf(key, _slots.Length);

    private async Task<T> ExecuteOnSlotAsync<T>(
        int index, Func<DualWriteContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_stopped, this);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var slot = _options.UseLeases ? _slots[index] : LiveSlotFrom(index);
            await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                while (Volatile.Read(ref slot.Member) is null && !slot.Dead)
                {
                    ObjectDisposedException.ThrowIf(_stopped, this);
                    if (_fatal is { } fatal)
                    {
                        throw new BrokerCapabilityException(fatal.MissingCapability, fatal.Message, fatal);
                    }

                    Task filled;
                    lock (slot.Sync)
                    {
                        filled = slot.Filled.Task;
                    }

                    if (Volatile.Read(ref slot.Member) is not null)
                    {
                        break;
                    }

                    // The slot lost its id; holding its gate keeps the key's later units queued behind this one.
                    SignalScan();
                    await filled.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                ObjectDisposedException.ThrowIf(_stopped, this);
            }
            catch
            {
                slot.Gate.Release();
                throw;
            }

            if (slot.Dead)
            {
                // Lease-less pool: this slot's id was fenced while we waited; the key moves to the next live slot.
                slot.Gate.Release();
                continue;
            }

            return await RunOnSlotAsync(slot, work, requeue: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Lease-less pools cannot refill a fenced slot, so a key of a dead slot probes to the next live one.
    /// </summary>
    private Slot LiveSlotFrom(int index)
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            var slot = _slots[(index + i) % _slots.Length];
            if (!slot.Dead)
            {
                return slot;
            }
        }

        throw new InvalidOperationException("Every transactional id of the pool was fenced by another instance.");
    }

    /// <summary>Runs the unit on the slot's writer; the caller holds the slot's gate, released here.</summary>
    private async Task<T> RunOnSlotAsync<T>(
        Slot slot, Func<DualWriteContext, CancellationToken, Task<T>> work, bool requeue, CancellationToken cancellationToken)
    {
        var member = Volatile.Read(ref slot.Member)!;
        var fenced = false;
        try
        {
            return await member.Writer.ExecuteAsync(work, cancellationToken).ConfigureAwait(false);
        }
        catch (DualWriterFencedException)
        {
            // Another producer owns this id now; handing it out again would only fence that producer back.
            fenced = true;
            throw;
        }
        finally
        {
            try
            {
                if (fenced || member.LeaseLost)
                {
                    await RetireAsync(slot, member, fenced).ConfigureAwait(false);
                }
            }
            finally
            {
                slot.Gate.Release();
                if (requeue && Volatile.Read(ref slot.Member) is not null)
                {
                    Enqueue(slot);
                }
            }
        }
    }

    private Task EnsureStartedAsync(CancellationToken cancellationToken)
    {
        Task start;
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            _startTask ??= StartCoreAsync();
            start = _startTask;
        }

        return start.IsCompletedSuccessfully ? Task.CompletedTask : start.WaitAsync(cancellationToken);
    }

    private async Task StartCoreAsync()
    {
        var token = _stopping.Token;
        try
        {
            await AcquireAsync(token).ConfigureAwait(false);
        }
        catch
        {
            lock (_lifecycle)
            {
                _startTask = null; // Let the next call try again (e.g. the database was briefly unreachable).
            }

            throw;
        }

        var members = TransactionalIds;
        DualWriteLog.PoolMembers(_logger, InstanceId, members.Count, _slots.Length, string.Join(", ", members));
        if (members.Count < _slots.Length)
        {
            DualWriteLog.Undersized(_logger, InstanceId, members.Count, _slots.Length, _options.EffectiveTotalIds);
        }

        _background = Task.WhenAll(
            Task.Run(() => RenewLoopAsync(token), CancellationToken.None),
            Task.Run(() => ScanLoopAsync(token), CancellationToken.None));
    }

    /// <summary>
    /// One pass over the id space: take over every id whose lease expired (recover it; keep it if a slot is empty,
    /// else release it), then fill empty slots from free ids. The only place slots are filled.
    /// </summary>
    private async Task AcquireAsync(CancellationToken cancellationToken)
    {
        await _membership.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var rows = await _store.ListStatesAsync(cancellationToken).ConfigureAwait(false);
            var byId = new Dictionary<string, DualWriteStateRow>(StringComparer.Ordinal);
            foreach (var row in rows)
            {
                byId[row.TransactionalId] = row;
            }

            var held = _slots.Select(s => Volatile.Read(ref s.Member)?.Id).OfType<string>().ToHashSet(StringComparer.Ordinal);
            var now = _time.GetUtcNow();
            var orphans = new List<(string Id, string Owner)>();
            var free = new List<string>();
            for (var i = 0; i < _options.EffectiveTotalIds; i++)
            {
                var id = _options.IdAt(i);
                if (held.Contains(id) || IsQuarantined(id))
                {
                    continue;
                }

                if (!byId.TryGetValue(id, out var row) || row.LeaseOwner is null || row.LeaseOwner == InstanceId)
                {
                    free.Add(id);
                }
                else if (row.LeaseExpiresAt is not { } expires || expires <= now)
                {
                    orphans.Add((id, row.LeaseOwner));
                }
            }

            // Expired ids first, even with every slot full: a transaction a dead instance left prepared pins the last
            // stable offset of its partitions, stalling every read_committed consumer until someone recovers it.
            foreach (var (id, owner) in orphans)
            {
                await TryTakeAsync(id, owner, cancellationToken).ConfigureAwait(false);
            }

            foreach (var id in free)
            {
                if (EmptySlot() is null)
                {
                    break;
                }

                await TryTakeAsync(id, null, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _membership.Release();
        }
    }

    private async Task TryTakeAsync(string id, string? previousOwner, CancellationToken cancellationToken)
    {
        // The store decides atomically: of several instances racing for an expired lease, one wins.
        if (!await _store.TryAcquireLeaseAsync(id, InstanceId, _options.LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var acquiredAt = _time.GetTimestamp();
        DualWriteInstruments.Leases.Add(1, DualWriteInstruments.IdTag(id),
            DualWriteInstruments.OutcomeTag(previousOwner is null ? "acquired" : "taken_over"));
        var writer = CreateWriter(id);
        RecoveryOutcome outcome;
        try
        {
            // Recover before any unit: InitTransactions fences a zombie of the dead instance and the stored token
            // decides the fate of whatever it left prepared.
            outcome = await writer.RecoverAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            if (error is DualWriterFencedException)
            {
                _quarantined[id] = _time.GetTimestamp();
            }

            if (error is BrokerCapabilityException capability)
            {
                // No id can ever work against this broker: fail every waiting and future unit with the reason
                // instead of leaving them waiting for an id that never comes.
                _fatal = capability;
                _free.Writer.TryComplete(capability);
                foreach (var waiting in _slots)
                {
                    lock (waiting.Sync)
                    {
                        waiting.Filled.TrySetResult(); // Keyed units waiting for an id wake up and see _fatal.
                    }
                }
            }

            await ReleaseQuietlyAsync(id).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            DualWriteLog.AcquireRecoveryFailed(_logger, InstanceId, id, error);
            return;
        }

        if (previousOwner is not null)
        {
            DualWriteLog.TookOver(_logger, InstanceId, id, previousOwner, outcome);
        }

        if (EmptySlot() is { } slot && TryAssign(slot, new Member(id, writer, acquiredAt)))
        {
            return;
        }

        // Recovered on behalf of a dead instance but no room here: give the id back to the space.
        await writer.DisposeAsync().ConfigureAwait(false);
        await ReleaseQuietlyAsync(id).ConfigureAwait(false);
    }

    private bool IsQuarantined(string id)
    {
        if (!_quarantined.TryGetValue(id, out var since))
        {
            return false;
        }

        if (_time.GetElapsedTime(since) < 2 * _options.LeaseDuration)
        {
            return true;
        }

        _quarantined.TryRemove(id, out _);
        return false;
    }

    private Slot? EmptySlot() => _slots.FirstOrDefault(s => Volatile.Read(ref s.Member) is null && !s.Dead);

    private bool TryAssign(Slot slot, Member member)
    {
        lock (slot.Sync)
        {
            if (slot.Member is not null || slot.Dead)
            {
                return false;
            }

            Volatile.Write(ref slot.Member, member);
            slot.Filled.TrySetResult();
        }

        Enqueue(slot);
        return true;
    }

    /// <summary>Takes <paramref name="member"/> out of its slot (the caller holds the slot's gate or the pool is
    /// stopping) and closes its writer. The lease is not released: a fenced id belongs to another producer and a lost
    /// lease to another instance.</summary>
    private async Task RetireAsync(Slot slot, Member member, bool fenced)
    {
        lock (slot.Sync)
        {
            if (!ReferenceEquals(slot.Member, member))
            {
                return;
            }

            Volatile.Write(ref slot.Member, null);
            slot.Filled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (fenced && !_options.UseLeases)
            {
                slot.Dead = true;
            }
        }

        if (fenced)
        {
            _quarantined[member.Id] = _time.GetTimestamp();
        }

        await member.Writer.DisposeAsync().ConfigureAwait(false);
        if (!_options.UseLeases)
        {
            if (Interlocked.Decrement(ref _live) == 0)
            {
                _free.Writer.TryComplete();
            }
        }
        else
        {
            SignalScan(); // Refill the slot from a free id.
        }
    }

    private async Task RenewLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.EffectiveRenewalInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var slot in _slots)
                {
                    await RenewAsync(slot, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task RenewAsync(Slot slot, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref slot.Member) is not { LeaseLost: false } member)
        {
            return;
        }

        try
        {
            if (await _store.TryAcquireLeaseAsync(member.Id, InstanceId, _options.LeaseDuration, cancellationToken)
                    .ConfigureAwait(false))
            {
                Volatile.Write(ref member.RenewedAt, _time.GetTimestamp());
            }
            else
            {
                MarkLost(member);
            }
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested)
        {
            DualWriteLog.RenewFailed(_logger, InstanceId, member.Id, error);
            if (_time.GetElapsedTime(Volatile.Read(ref member.RenewedAt)) >= _options.LeaseDuration)
            {
                // Another instance may have taken it by now; step aside (fencing would stop us anyway).
                MarkLost(member);
            }
        }

        // An idle slot leaves now; a busy one when its unit ends (RunOnSlotAsync).
        if (member.LeaseLost && await slot.Gate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await RetireAsync(slot, member, fenced: false).ConfigureAwait(false);
            }
            finally
            {
                slot.Gate.Release();
            }
        }
    }

    private void MarkLost(Member member)
    {
        member.LeaseLost = true;
        DualWriteInstruments.Leases.Add(1, DualWriteInstruments.IdTag(member.Id), DualWriteInstruments.OutcomeTag("lost"));
        DualWriteLog.LeaseLost(_logger, InstanceId, member.Id);
    }

    private async Task ScanLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    var delay = Task.Delay(_options.EffectiveScanInterval, _time, wait.Token);
                    var signal = _scanSignal.Reader.WaitToReadAsync(wait.Token).AsTask();
                    await Task.WhenAny(delay, signal).ConfigureAwait(false);
                    _scanSignal.Reader.TryRead(out _);
                    await wait.CancelAsync().ConfigureAwait(false);
                }

                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    await AcquireAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception error) when (!cancellationToken.IsCancellationRequested)
                {
                    DualWriteLog.ScanFailed(_logger, InstanceId, error);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void SignalScan() => _scanSignal.Writer.TryWrite(true);

    private void Enqueue(Slot slot)
    {
        if (Interlocked.CompareExchange(ref slot.Queued, 1, 0) == 0)
        {
            _free.Writer.TryWrite(slot);
        }
    }

    private async Task ReleaseQuietlyAsync(string id)
    {
        try
        {
            await _store.ReleaseLeaseAsync(id, InstanceId, CancellationToken.None).ConfigureAwait(false);
            DualWriteInstruments.Leases.Add(1, DualWriteInstruments.IdTag(id), DualWriteInstruments.OutcomeTag("released"));
            DualWriteLog.Released(_logger, InstanceId, id);
        }
#pragma warning disable CA1031 // An unreleased lease simply expires; nothing else depends on the release.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private DualWriter CreateWriter(string id)
    {
        var options = new DualWriterOptions
        {
            BootstrapServers = _options.BootstrapServers,
            ConfigureProducer = _options.ConfigureProducer,
            Observer = _options.Observer,
            ProducerCloseTimeout = _options.ProducerCloseTimeout,
            Logger = _options.Logger,
            TimeProvider = _time,
        };
        _configureWriter?.Invoke(options);
        options.TransactionalId = id;
        return new DualWriter(_store, options);
    }

    private static DualWriterPoolOptions LegacyOptions(int size, string prefix, Action<DualWriterOptions> configure)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        ArgumentNullException.ThrowIfNull(configure);
        var probe = new DualWriterOptions();
        configure(probe);
        ArgumentException.ThrowIfNullOrWhiteSpace(probe.BootstrapServers, nameof(DualWriterOptions.BootstrapServers));
        return new DualWriterPoolOptions
        {
            BootstrapServers = probe.BootstrapServers,
            TransactionalIdPrefix = prefix,
            PoolSize = size,
            UseLeases = false,
            Logger = probe.Logger,
            TimeProvider = probe.TimeProvider,
        };
    }

    /// <summary>
    /// Stops the pool: stops renewing and scanning, waits for running units (until <paramref name="cancellationToken"/>
    /// fires), closes every writer (a prepared transaction stays on the broker for recovery) and releases its leases so
    /// other instances can take the ids at once. Idempotent.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for running units.</param>
    /// <returns>A task that completes when the pool is stopped.</returns>
    public Task StopAsync(CancellationToken cancellationToken = default) => StopCoreAsync(releaseLeases: true, cancellationToken);

    /// <summary>Test hook: stops like a crashed process — writers closed, leases left to expire.</summary>
    internal Task AbandonAsync() => StopCoreAsync(releaseLeases: false, CancellationToken.None);

    private Task StopCoreAsync(bool releaseLeases, CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            _stopped = true;
            _stopTask ??= StopOnceAsync(releaseLeases, cancellationToken);
            return _stopTask;
        }
    }

    private async Task StopOnceAsync(bool releaseLeases, CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _free.Writer.TryComplete();
        foreach (var slot in _slots)
        {
            lock (slot.Sync)
            {
                slot.Filled.TrySetResult(); // Wake keyed units waiting for an id: they see the pool stopped.
            }
        }

        await AwaitQuietlyAsync(_startTask).ConfigureAwait(false);
        await AwaitQuietlyAsync(_background).ConfigureAwait(false);
        await _membership.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            foreach (var slot in _slots)
            {
                var gateHeld = false;
                try
                {
                    await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    gateHeld = true;
                }
                catch (OperationCanceledException)
                {
                    // Stop waiting for the unit; closing its writer below still waits for it to leave the writer.
                }

                try
                {
                    Member? member;
                    lock (slot.Sync)
                    {
                        member = slot.Member;
                        Volatile.Write(ref slot.Member, null);
                    }

                    if (member is not null)
                    {
                        await member.Writer.DisposeAsync().ConfigureAwait(false);
                        if (releaseLeases && _options.UseLeases && !member.LeaseLost)
                        {
                            await ReleaseQuietlyAsync(member.Id).ConfigureAwait(false);
                        }
                    }
                }
                finally
                {
                    if (gateHeld)
                    {
                        slot.Gate.Release();
                    }
                }
            }
        }
        finally
        {
            _membership.Release();
        }
    }

    private static async Task AwaitQuietlyAsync(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Stopping: a failed start or a background loop's end changes nothing now.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Stops the pool (<see cref="StopAsync"/>: leases released, writers closed).</summary>
    /// <returns>A task that completes when the pool is stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>One unit of concurrency: carries at most one id at a time; keyed units of its keys serialise on
    /// <see cref="Gate"/> whichever id it carries.</summary>
#pragma warning disable CA1001 // SemaphoreSlim only needs disposing once AvailableWaitHandle was used (it never is).
    private sealed class Slot
#pragma warning restore CA1001
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public readonly Lock Sync = new();
        public Member? Member;

        /// <summary>Completed when the slot gets an id (replaced when it loses one); guarded by <see cref="Sync"/>.
        /// </summary>
        public TaskCompletionSource Filled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Lease-less pools only: the slot's fixed id was fenced, for good.</summary>
        public bool Dead;

        /// <summary>1 while the slot is in <see cref="_free"/> (so it is never there twice).</summary>
        public int Queued;
    }

    private sealed class Member(string id, DualWriter writer, long renewedAt)
    {
        public string Id { get; } = id;

        public DualWriter Writer { get; } = writer;

        /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last successful acquire or renewal.</summary>
        public long RenewedAt = renewedAt;

        public volatile bool LeaseLost;
    }
}
