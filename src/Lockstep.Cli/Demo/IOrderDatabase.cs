using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.DualWrite;

namespace Lockstep.Cli.Demo;

/// <summary>
/// The demo's application database — its orders and, beside them, the dual-write state of <see cref="Store"/> — for one
/// kind of store (SQLite, PostgreSQL, Redis). The demo parent, its <c>demo-worker</c> children and the dual-write tests
/// all go through this, so every scenario runs unchanged against every store.
/// </summary>
internal interface IOrderDatabase : IAsyncDisposable
{
    /// <summary>For people: the kind of store and where it is, e.g. <c>SQLite /tmp/x/demo.db</c> (never a password).
    /// </summary>
    string Description { get; }

    /// <summary>The <c>--db</c> value that makes a child process open this same database and namespace.</summary>
    string WorkerSpec { get; }

    /// <summary>The dual-write store on this database.</summary>
    IDualWriteStore Store { get; }

    /// <summary>Creates the orders table / key layout if missing (idempotent; the store creates its own state).</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task that completes when the schema exists.</returns>
    Task EnsureSchemaAsync(CancellationToken cancellationToken);

    /// <summary>Inside a unit of work: writes order <paramref name="orderId"/> in the unit's store transaction.</summary>
    /// <param name="context">The unit of work.</param>
    /// <param name="orderId">The order id (unique).</param>
    /// <param name="amountCents">The order amount.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the write is part of the transaction.</returns>
    Task InsertOrderAsync(DualWriteContext context, int orderId, int amountCents, CancellationToken cancellationToken);

    /// <summary>The ids of every committed order.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The committed order ids.</returns>
    Task<IReadOnlySet<int>> ReadOrderIdsAsync(CancellationToken cancellationToken);
}

/// <summary>Picks the <see cref="IOrderDatabase"/> for a <c>--db</c> value.</summary>
internal static class OrderDatabases
{
    /// <summary>What <c>--db</c> accepts, for help and error texts.</summary>
    public const string SpecHelp =
        "a SQLite file path, a PostgreSQL connection string (Host=…;Username=…) or URI (postgresql://…), "
        + "or a Redis endpoint (redis://HOST:PORT)";

    /// <summary>True for a PostgreSQL connection string or URI.</summary>
    /// <param name="spec">The <c>--db</c> value.</param>
    /// <returns>Whether it names PostgreSQL.</returns>
    public static bool IsPostgreSql(string spec) =>
        spec.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
        || spec.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
        || spec.Contains("Host=", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for a Redis endpoint.</summary>
    /// <param name="spec">The <c>--db</c> value.</param>
    /// <returns>Whether it names Redis.</returns>
    public static bool IsRedis(string spec) =>
        spec.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)
        || spec.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens the database <paramref name="spec"/> names (nothing is contacted until first use).</summary>
    /// <param name="spec">A <c>--db</c> value or a <see cref="IOrderDatabase.WorkerSpec"/>.</param>
    /// <returns>The database.</returns>
    public static IOrderDatabase Open(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        return IsPostgreSql(spec) ? PostgresOrderDatabase.Open(spec)
            : IsRedis(spec) ? RedisOrderDatabase.Open(spec)
            : SqliteOrderDatabase.Open(spec);
    }

    /// <summary>
    /// A spec for a fresh, empty namespace of the same server, named after <paramref name="runId"/> (PostgreSQL: a new
    /// schema; Redis: a new key prefix), so a demo run or a test never sees another run's rows. SQLite files are
    /// per run already and come back unchanged.
    /// </summary>
    /// <param name="spec">A <c>--db</c> value.</param>
    /// <param name="runId">Letters, digits and '_' only.</param>
    /// <returns>The spec of the fresh namespace.</returns>
    public static string Isolate(string spec, string runId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(runId);
        return IsPostgreSql(spec) ? PostgresOrderDatabase.Isolate(spec, runId)
            : IsRedis(spec) ? RedisOrderDatabase.Isolate(spec, runId)
            : spec;
    }
}
