using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>One row of ListTransactions.</summary>
/// <param name="TransactionalId">The id.</param>
/// <param name="ProducerId">Its producer id.</param>
/// <param name="State">Its state name.</param>
internal readonly record struct TransactionListing(string TransactionalId, long ProducerId, string State);

/// <summary>DescribeTransactions of one id (error None when found).</summary>
/// <param name="Error">None, or TRANSACTIONAL_ID_NOT_FOUND.</param>
/// <param name="Snapshot">The state when found.</param>
internal readonly record struct TransactionDescription(ErrorCode Error, TxnSnapshot? Snapshot);

/// <summary>Admin queries, the timeout reaper, transactional-id expiration and metrics.</summary>
internal sealed partial class TransactionCoordinator
{
    /// <summary>Bound on one TransactionalIdPattern match: a pathological pattern must not stall the coordinator.</summary>
    private static readonly TimeSpan PatternMatchTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// ListTransactions (Kafka's <c>TransactionStateManager.listTransactionStates</c>): Dead ids are never listed;
    /// each given filter must match — producer ids, state names (unknown names are reported back, not an error),
    /// DurationFilter (v1: only transactions running longer than that many ms), TransactionalIdPattern (v2: a
    /// regular expression that must match the whole id, as Java's <c>Matcher.matches</c>).
    /// </summary>
    /// <returns>INVALID_REGULAR_EXPRESSION for a pattern that does not compile (Kafka throws
    /// <c>InvalidRegularExpression</c>, whose code that is), else None with the rows.</returns>
    public (ErrorCode Error, List<TransactionListing> Rows, List<string> UnknownStates) ListTransactions(
        IReadOnlyCollection<long> producerIds, IReadOnlyCollection<string> stateNames, long durationFilterMs, string? pattern)
    {
        var unknown = new List<string>();
        var states = new HashSet<TransactionState>();
        foreach (var name in stateNames)
        {
            if (TransactionStates.TryParse(name, out var state))
            {
                states.Add(state);
            }
            else
            {
                unknown.Add(name);
            }
        }

        Regex? regex = null;
        if (!string.IsNullOrEmpty(pattern))
        {
            try
            {
                // Anchored: Java's matches() requires the whole input to match. .NET and Java syntax differ in corners
                // (possessive quantifiers, \p classes); the common subset behaves alike.
                regex = new Regex($"^(?:{pattern})\\z", RegexOptions.None, PatternMatchTimeout);
            }
            catch (ArgumentException)
            {
                return (ErrorCode.InvalidRegularExpression, [], unknown);
            }
        }

        var pids = producerIds.ToHashSet();
        var now = NowMs;
        var rows = new List<TransactionListing>();
        lock (_lock)
        {
            foreach (var entry in _entries.Values)
            {
                var md = entry.Current;
                if (md.State == TransactionState.Dead
                    || (pids.Count > 0 && !pids.Contains(md.ProducerId))
                    || (stateNames.Count > 0 && !states.Contains(md.State))
                    || (durationFilterMs >= 0 && now - md.StartMs <= durationFilterMs))
                {
                    continue;
                }

                if (regex is not null && !Matches(regex, entry.TransactionalId))
                {
                    continue;
                }

                rows.Add(new TransactionListing(entry.TransactionalId, md.ProducerId, md.State.Name()));
            }
        }

        rows.Sort((a, b) => string.CompareOrdinal(a.TransactionalId, b.TransactionalId));
        return (ErrorCode.None, rows, unknown);
    }

    private static bool Matches(Regex regex, string id)
    {
        try
        {
            return regex.IsMatch(id);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>DescribeTransactions of one id (Kafka's <c>TransactionCoordinator.handleDescribeTransactions</c>).</summary>
    public TransactionDescription Describe(string transactionalId)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(transactionalId, out var entry) && entry.Current.State != TransactionState.Dead
                ? new TransactionDescription(ErrorCode.None, entry.Current)
                : new TransactionDescription(ErrorCode.TransactionalIdNotFound, null);
        }
    }

    /// <summary>
    /// The abort reaper (every <c>transaction.abort.timed.out.transaction.cleanup.interval.ms</c>, §7.8): every
    /// Ongoing transaction with no pending transition, older than its timeout and not 2PC (a 2PC transaction's
    /// stored timeout is int.MaxValue and it waits for the external coordinator however long that takes), is
    /// aborted with an epoch fence. Returns the number of aborts started; the tasks are returned for tests.
    /// </summary>
    public List<Task<EndTxnResult>> AbortTimedOutTransactions()
    {
        var started = new List<Task<EndTxnResult>>();
        var now = NowMs;
        lock (_lock)
        {
            if (_disposed)
            {
                return started;
            }

            foreach (var entry in _entries.Values.ToList())
            {
                var md = entry.Current;
                if (md.State != TransactionState.Ongoing || entry.Pending is not null || md.IsTwoPhaseCommit
                    || md.StartMs + (long)md.TimeoutMs >= now)
                {
                    continue;
                }

                LogTimedOut(entry.TransactionalId, md.ProducerId, md.ProducerEpoch, md.TimeoutMs);
                started.Add(BeginFenceAbortLockedAsync(entry, md));
            }
        }

        return started;
    }

    /// <summary>
    /// Transactional-id expiration (every <c>transaction.remove.expired.transaction.cleanup.interval.ms</c>, §7.8):
    /// ids in Empty/CompleteCommit/CompleteAbort idle longer than <c>transactional.id.expiration.ms</c> move to Dead
    /// and their tombstone is written; once durable they are forgotten. Returns the tasks (for tests).
    /// </summary>
    public List<Task<ErrorCode>> ExpireTransactionalIds()
    {
        var started = new List<Task<ErrorCode>>();
        var now = NowMs;
        lock (_lock)
        {
            if (_disposed)
            {
                return started;
            }

            foreach (var entry in _entries.Values.ToList())
            {
                var md = entry.Current;
                if (entry.Pending is null && md.State.IsExpirationAllowed()
                    && now - md.LastUpdateMs >= Config.TransactionalIdExpirationMs)
                {
                    started.Add(PersistLockedAsync(entry, md with { State = TransactionState.Dead, Partitions = [], LastUpdateMs = now }));
                }
            }
        }

        return started;
    }

    private void CreateMetrics()
    {
        var meter = _core.Metrics.Meter;
        meter.CreateObservableGauge("lockstep.broker.transactions.open", () => ObserveOpen().Count,
            "{transaction}", "Transactions that are ongoing or completing.");
        meter.CreateObservableGauge("lockstep.broker.transactions.oldest_open_age", () => ObserveOpen().OldestMs,
            "ms", "Age of the oldest open transaction (0 when none).");
        meter.CreateObservableGauge("lockstep.broker.transactions.oldest_2pc_age", () => ObserveOpen().Oldest2PcMs,
            "ms", "Age of the oldest open KIP-939 two-phase-commit transaction (0 when none).");
    }

    /// <summary>Metric values: open transactions, oldest open age, oldest open 2PC age (ms).</summary>
    internal (int Count, long OldestMs, long Oldest2PcMs) ObserveOpen()
    {
        var now = NowMs;
        var count = 0;
        long oldest = 0, oldest2Pc = 0;
        lock (_lock)
        {
            foreach (var entry in _entries.Values)
            {
                var md = entry.Current;
                if (!md.State.IsOpen() || md.StartMs < 0)
                {
                    continue;
                }

                count++;
                var age = Math.Max(0, now - md.StartMs);
                oldest = Math.Max(oldest, age);
                if (md.IsTwoPhaseCommit)
                {
                    oldest2Pc = Math.Max(oldest2Pc, age);
                }
            }
        }

        return (count, oldest, oldest2Pc);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "aborting timed-out transaction of '{TransactionalId}' (producer {ProducerId}, epoch {Epoch}, timeout {TimeoutMs} ms)")]
    private partial void LogTimedOut(string transactionalId, long producerId, short epoch, int timeoutMs);
}
