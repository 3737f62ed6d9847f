using System.Globalization;
using Lockstep.Cli.Demo;
using Lockstep.Testing;

namespace Lockstep.DualWrite.Tests;

/// <summary>The stores every dual-write scenario runs against (issue 6: "for each store").</summary>
public enum StoreKind
{
    /// <summary>A SQLite file in the test's temp folder.</summary>
    Sqlite,

    /// <summary>The throwaway PostgreSQL cluster test.sh starts ($LOCKSTEP_POSTGRES), one fresh schema per test.</summary>
    PostgreSql,

    /// <summary>The Redis server test.sh starts ($LOCKSTEP_REDIS), one fresh key prefix per test.</summary>
    Redis,
}

/// <summary>
/// Opens an empty <see cref="IOrderDatabase"/> of a kind — the same abstraction the demo and its worker processes use —
/// so one test body covers every store. PostgreSQL and Redis come from the peers test.sh starts; when one is missing
/// the test skips locally and fails under CI (<see cref="Peers.RequireOrSkip(bool, string)"/>).
/// </summary>
internal static class TestStores
{
    private static int s_sequence;

    /// <summary>Every kind, for <c>[MemberData]</c>.</summary>
    public static TheoryData<StoreKind> All => [StoreKind.Sqlite, StoreKind.PostgreSql, StoreKind.Redis];

    /// <summary>The <c>--db</c> spec of a fresh, empty database (or namespace) of <paramref name="kind"/>.</summary>
    /// <param name="kind">The store.</param>
    /// <param name="directory">Where a SQLite file goes.</param>
    /// <returns>The spec; open it with <see cref="OrderDatabases.Open"/>, or pass it to a worker process.</returns>
    public static string FreshSpec(StoreKind kind, TempDirectory directory)
    {
        var runId = string.Create(CultureInfo.InvariantCulture,
            $"t{Environment.ProcessId}_{Interlocked.Increment(ref s_sequence)}_{Guid.NewGuid():N}")[..24];
        switch (kind)
        {
            case StoreKind.Sqlite:
                return directory.Combine(runId + ".db");
            case StoreKind.PostgreSql:
            {
                var server = Environment.GetEnvironmentVariable("LOCKSTEP_POSTGRES");
                Peers.RequireOrSkip(!string.IsNullOrEmpty(server), "PostgreSQL at $LOCKSTEP_POSTGRES (started by ./test.sh)");
                return OrderDatabases.Isolate(server!, runId);
            }

            case StoreKind.Redis:
            {
                var server = Environment.GetEnvironmentVariable("LOCKSTEP_REDIS");
                Peers.RequireOrSkip(!string.IsNullOrEmpty(server), "Redis at $LOCKSTEP_REDIS (started by ./test.sh)");
                return OrderDatabases.Isolate("redis://" + server, runId);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>Opens a fresh database of <paramref name="kind"/> with its orders schema created.</summary>
    /// <param name="kind">The store.</param>
    /// <param name="directory">Where a SQLite file goes.</param>
    /// <returns>The open database; dispose it.</returns>
    public static async Task<IOrderDatabase> OpenFreshAsync(StoreKind kind, TempDirectory directory)
    {
        var database = OrderDatabases.Open(FreshSpec(kind, directory));
        await database.EnsureSchemaAsync(TestContext.Current.CancellationToken);
        return database;
    }
}
