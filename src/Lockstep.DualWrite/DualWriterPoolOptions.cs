using System;
using System.Collections.Generic;
using System.Globalization;
using Lockstep.Client;
using Microsoft.Extensions.Logging;

namespace Lockstep.DualWrite;

/// <summary>
/// Settings of a <see cref="DualWriterPool"/> (dual-write.md §2). Several instances of a service share one id space
/// <c>TransactionalIdPrefix-0 … TransactionalIdPrefix-(TotalIds-1)</c>; each leases <see cref="PoolSize"/> of them in
/// the database, renews its leases, and takes over (and recovers) the ids of an instance whose leases expired.
/// </summary>
/// <remarks>Property names match the configuration keys of <c>Lockstep.DualWrite.Hosting</c> (section
/// <c>Lockstep:DualWrite</c>).</remarks>
public sealed class DualWriterPoolOptions
{
    /// <summary>Kafka <c>bootstrap.servers</c>. Required.</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    /// <summary>Prefix of the id space: ids are <c>prefix-0</c> … <c>prefix-(TotalIds-1)</c>. Required; every instance
    /// of one service uses the same prefix.</summary>
    public string TransactionalIdPrefix { get; set; } = string.Empty;

    /// <summary>How many ids this instance uses at once (its concurrency: one unit in flight per id). Default 4.
    /// </summary>
    public int PoolSize { get; set; } = 4;

    /// <summary>Size of the cluster-wide id space; at least the sum of every instance's <see cref="PoolSize"/> so that
    /// each instance can fill its pool. Null means <see cref="PoolSize"/> (a single instance). Never shrink it while
    /// an id above the new size may hold a prepared transaction: nobody would recover it.</summary>
    public int? TotalIds { get; set; }

    /// <summary>
    /// True (default): ids are leased in the database (<see cref="IDualWriteStore.TryAcquireLeaseAsync"/>). False: this
    /// instance uses <c>prefix-0 … prefix-(PoolSize-1)</c> unconditionally, without leases — only for a single
    /// instance (the demo's workers, which are killed and restarted faster than a lease expires). Two lease-less
    /// instances with the same prefix fence each other (<see cref="DualWriterFencedException"/>).
    /// </summary>
    public bool UseLeases { get; set; } = true;

    /// <summary>This instance's identity as a lease owner. Default: host name, process id and a random suffix, so a
    /// restarted process is a new owner and waits for (or takes over) its predecessor's expired leases.</summary>
    public string InstanceId { get; set; } = DefaultInstanceId();

    /// <summary>How long a lease lasts unless renewed; a dead instance's ids are taken over this long after its last
    /// renewal. Default 30 seconds.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often leases are renewed. Null (default) means a third of <see cref="LeaseDuration"/>, so two
    /// renewals may fail before a lease lapses.</summary>
    public TimeSpan? LeaseRenewalInterval { get; set; }

    /// <summary>How often the store is scanned for expired leases of other instances (takeover) and free ids (to
    /// refill the pool). Null (default) means half of <see cref="LeaseDuration"/>.</summary>
    public TimeSpan? TakeoverScanInterval { get; set; }

    /// <summary>Further producer settings of every writer; see <see cref="DualWriterOptions.ConfigureProducer"/>.
    /// </summary>
    public Action<KafkaProducerOptions>? ConfigureProducer { get; set; }

    /// <summary>Told about every recipe step of every writer; see <see cref="DualWriterOptions.Observer"/>.</summary>
    public IDualWriteObserver? Observer { get; set; }

    /// <summary>See <see cref="DualWriterOptions.ProducerCloseTimeout"/>. Default 5 seconds.</summary>
    public TimeSpan ProducerCloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the pool and its writers log (leases, takeovers, recoveries, fencing); null for none.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>The clock for lease renewal, scans and metrics. Default <see cref="TimeProvider.System"/>. Lease expiry
    /// itself is decided by the store's clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The effective id-space size.</summary>
    internal int EffectiveTotalIds => TotalIds ?? PoolSize;

    internal TimeSpan EffectiveRenewalInterval => LeaseRenewalInterval ?? LeaseDuration / 3;

    internal TimeSpan EffectiveScanInterval => TakeoverScanInterval ?? LeaseDuration / 2;

    /// <summary>Checks the settings.</summary>
    /// <returns>One sentence per problem, naming the setting; empty when the options are usable.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            errors.Add($"{nameof(BootstrapServers)} is required: the Kafka bootstrap servers, e.g. \"localhost:9092\".");
        }

        if (string.IsNullOrWhiteSpace(TransactionalIdPrefix))
        {
            errors.Add($"{nameof(TransactionalIdPrefix)} is required: ids are \"<prefix>-0\" … \"<prefix>-(TotalIds-1)\"; "
                + "every instance of the service must use the same prefix.");
        }

        if (PoolSize < 1)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{nameof(PoolSize)} must be at least 1 (got {PoolSize})."));
        }

        if (TotalIds is { } total && total < PoolSize)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{nameof(TotalIds)} ({total}) must be at least {nameof(PoolSize)} ({PoolSize})."));
        }

        if (!UseLeases && TotalIds is { } fixedTotal && fixedTotal != PoolSize)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"{nameof(TotalIds)} ({fixedTotal}) must equal {nameof(PoolSize)} ({PoolSize}) when {nameof(UseLeases)} is false: without leases an instance owns its whole id space."));
        }

        if (UseLeases)
        {
            if (string.IsNullOrWhiteSpace(InstanceId))
            {
                errors.Add($"{nameof(InstanceId)} must not be empty (it is the lease owner).");
            }

            if (LeaseDuration < TimeSpan.FromMilliseconds(100))
            {
                errors.Add($"{nameof(LeaseDuration)} must be at least 100 ms (got {LeaseDuration}).");
            }

            if (LeaseRenewalInterval is { } renew && (renew <= TimeSpan.Zero || renew >= LeaseDuration))
            {
                errors.Add($"{nameof(LeaseRenewalInterval)} ({renew}) must be positive and shorter than "
                    + $"{nameof(LeaseDuration)} ({LeaseDuration}), or the lease lapses between renewals.");
            }

            if (TakeoverScanInterval is { } scan && scan <= TimeSpan.Zero)
            {
                errors.Add($"{nameof(TakeoverScanInterval)} must be positive (got {scan}).");
            }
        }

        if (ProducerCloseTimeout < TimeSpan.Zero)
        {
            errors.Add($"{nameof(ProducerCloseTimeout)} must not be negative (got {ProducerCloseTimeout}).");
        }

        return errors;
    }

    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid DualWriterPoolOptions: " + string.Join(" ", errors));
        }
    }

    internal string IdAt(int index) => string.Create(CultureInfo.InvariantCulture, $"{TransactionalIdPrefix}-{index}");

    private static string DefaultInstanceId() => string.Create(CultureInfo.InvariantCulture,
        $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
}
