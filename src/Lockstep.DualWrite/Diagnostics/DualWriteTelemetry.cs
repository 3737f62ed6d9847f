using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Lockstep.DualWrite.Diagnostics;

/// <summary>
/// Names of the metrics and traces Lockstep.DualWrite publishes through <see cref="System.Diagnostics"/> (dual-write.md
/// §2 "Observability"). Subscribe with OpenTelemetry's <c>AddMeter(DualWriteTelemetry.Name)</c> and
/// <c>AddSource(DualWriteTelemetry.Name)</c>, or a <see cref="MeterListener"/> / <see cref="ActivityListener"/>.
/// </summary>
/// <remarks>
/// Tags: <c>lockstep.transactional_id</c> (bounded by the pool's id space), <c>lockstep.outcome</c> and, on the commit
/// latency, <c>lockstep.phase</c> (<c>database</c> or <c>kafka</c>). Durations are in seconds (OpenTelemetry semantic
/// convention).
/// </remarks>
public static class DualWriteTelemetry
{
    /// <summary>The name of the <see cref="Meter"/> and of the <see cref="ActivitySource"/>.</summary>
    public const string Name = "Lockstep.DualWrite";

    /// <summary>Counter of recoveries (start-up, after failures, takeovers), tagged with the outcome:
    /// <c>nothing_prepared</c>, <c>committed</c>, <c>aborted</c>, <c>fenced</c> or <c>failed</c>.</summary>
    public const string Recoveries = "lockstep.dualwrite.recoveries";

    /// <summary>Counter of writers fenced by another producer of their transactional id (zombies).</summary>
    public const string Fenced = "lockstep.dualwrite.fenced";

    /// <summary>Histogram of recipe step 5 (prepare, including the wait for every record's acknowledgement), seconds.
    /// </summary>
    public const string PrepareDuration = "lockstep.dualwrite.prepare.duration";

    /// <summary>Histogram of the commit steps, seconds, tagged <c>lockstep.phase</c> = <c>database</c> (step 7) or
    /// <c>kafka</c> (step 8).</summary>
    public const string CommitDuration = "lockstep.dualwrite.commit.duration";

    /// <summary>Histogram of whole units of work (waiting for the writer excluded), seconds, tagged with the outcome.
    /// </summary>
    public const string UnitDuration = "lockstep.dualwrite.unit.duration";

    /// <summary>Counter of units of work by outcome: <c>committed</c>, <c>rolled_back</c>, <c>unknown</c>,
    /// <c>fenced</c>, <c>application_error</c> (the work delegate threw) or <c>canceled</c>.</summary>
    public const string Units = "lockstep.dualwrite.units";

    /// <summary>Observable gauge, seconds: age of the oldest Kafka transaction of this process's writers that is
    /// prepared but not yet committed or aborted — including one found prepared by recovery until it is resolved.
    /// Zero when none. A value that keeps growing means an in-doubt transaction pins the last stable offset of its
    /// partitions (read_committed consumers stall behind it).</summary>
    public const string OldestPreparedAge = "lockstep.dualwrite.prepared.oldest_age";

    /// <summary>Counter of lease events of <see cref="DualWriterPool"/>, tagged <c>lockstep.outcome</c>:
    /// <c>acquired</c>, <c>taken_over</c> (an expired lease of another instance), <c>lost</c>, <c>released</c>.
    /// </summary>
    public const string Leases = "lockstep.dualwrite.leases";

    /// <summary>Activity of one unit of work; the recipe steps are its events (<see cref="DualWriteStep"/> names).
    /// </summary>
    public const string UnitActivity = "lockstep.dualwrite.unit";

    /// <summary>Activity of one recovery of a transactional id.</summary>
    public const string RecoverActivity = "lockstep.dualwrite.recover";

    /// <summary>Tag holding the Kafka transactional id.</summary>
    public const string TransactionalIdTag = "lockstep.transactional_id";

    /// <summary>Tag holding the outcome.</summary>
    public const string OutcomeTag = "lockstep.outcome";

    /// <summary>Tag holding the commit phase.</summary>
    public const string PhaseTag = "lockstep.phase";
}

/// <summary>The instruments behind <see cref="DualWriteTelemetry"/> and the registry of writers for the prepared-age
/// gauge.</summary>
internal static class DualWriteInstruments
{
    public static readonly ActivitySource Source = new(DualWriteTelemetry.Name);

    private static readonly Meter s_meter = new(DualWriteTelemetry.Name);

    /// <summary>Live writers, each reporting the timestamp its open prepared transaction was first seen (or none).
    /// </summary>
    private static readonly ConcurrentDictionary<IPreparedAgeSource, byte> s_writers = new();

    public static readonly Counter<long> Recoveries = s_meter.CreateCounter<long>(
        DualWriteTelemetry.Recoveries, "{recovery}", "Recoveries of transactional ids by outcome.");

    public static readonly Counter<long> Fenced = s_meter.CreateCounter<long>(
        DualWriteTelemetry.Fenced, "{event}", "Writers fenced by another producer of their transactional id.");

    public static readonly Histogram<double> PrepareDuration = s_meter.CreateHistogram<double>(
        DualWriteTelemetry.PrepareDuration, "s", "Duration of the Kafka prepare (recipe step 5).");

    public static readonly Histogram<double> CommitDuration = s_meter.CreateHistogram<double>(
        DualWriteTelemetry.CommitDuration, "s", "Duration of the database (step 7) and Kafka (step 8) commits.");

    public static readonly Histogram<double> UnitDuration = s_meter.CreateHistogram<double>(
        DualWriteTelemetry.UnitDuration, "s", "Duration of units of work.");

    public static readonly Counter<long> Units = s_meter.CreateCounter<long>(
        DualWriteTelemetry.Units, "{unit}", "Units of work by outcome.");

    public static readonly Counter<long> Leases = s_meter.CreateCounter<long>(
        DualWriteTelemetry.Leases, "{event}", "Lease events of transactional ids.");

    public static readonly ObservableGauge<double> OldestPrepared = s_meter.CreateObservableGauge(
        DualWriteTelemetry.OldestPreparedAge, ObserveOldestPrepared, "s",
        "Age of the oldest Kafka transaction prepared but not yet completed by this process's writers.");

    public static void Register(IPreparedAgeSource writer) => s_writers.TryAdd(writer, 0);

    public static void Unregister(IPreparedAgeSource writer) => s_writers.TryRemove(writer, out _);

    /// <summary>The gauge's value now (also what the callback reports).</summary>
    public static double OldestPreparedAgeSeconds()
    {
        var oldest = TimeSpan.Zero;
        foreach (var writer in s_writers.Keys)
        {
            if (writer.PreparedAge is { } age && age > oldest)
            {
                oldest = age;
            }
        }

        return oldest.TotalSeconds;
    }

    private static IEnumerable<Measurement<double>> ObserveOldestPrepared()
    {
        yield return new Measurement<double>(OldestPreparedAgeSeconds());
    }

    public static KeyValuePair<string, object?> IdTag(string transactionalId) =>
        new(DualWriteTelemetry.TransactionalIdTag, transactionalId);

    public static KeyValuePair<string, object?> OutcomeTag(string outcome) => new(DualWriteTelemetry.OutcomeTag, outcome);

    /// <summary>Adds a recipe step as an event to the current activity if it is one of ours (never to a caller's).
    /// </summary>
    public static void StepEvent(DualWriteStep step)
    {
        if (Activity.Current is { } activity && ReferenceEquals(activity.Source, Source))
        {
            activity.AddEvent(new ActivityEvent(step.ToString()));
        }
    }
}

/// <summary>Something that may hold a prepared Kafka transaction (a <see cref="DualWriter"/>).</summary>
internal interface IPreparedAgeSource
{
    /// <summary>How long its prepared transaction has been open, or null when none.</summary>
    TimeSpan? PreparedAge { get; }
}
