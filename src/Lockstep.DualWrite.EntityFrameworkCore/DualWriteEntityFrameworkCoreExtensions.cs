using System;
using System.Data.Common;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.EntityFrameworkCore;

namespace Lockstep.DualWrite.EntityFrameworkCore;

/// <summary>
/// Runs EF Core inside a dual-write unit of work: the DbContext is bound to the unit's <see cref="DbConnection"/> and
/// enlisted in its <see cref="DbTransaction"/> (<c>Database.UseTransactionAsync</c>), so <c>SaveChangesAsync</c>
/// writes its rows in the same DB transaction that records the Kafka token, and the rows and the events produced
/// through <see cref="DualWriteContext.ProduceAsync"/> commit together or not at all. Works with any relational
/// provider whose DbContext can be built on an existing connection (Npgsql, SQLite, SQL Server, …).
/// </summary>
/// <remarks>
/// <para>The DbContext must not finish the transaction: <see cref="DualWriter"/> commits it at recipe step 7, after
/// preparing the Kafka transaction and storing its token. Never call <c>Database.CommitTransaction</c>,
/// <c>RollbackTransaction</c> or <c>BeginTransaction</c> on it, and do not configure a retrying execution strategy
/// (<c>EnableRetryOnFailure</c>): retry the whole unit instead. Add <see cref="DualWriteDbTransactionGuard"/> to the
/// context's options to turn an accidental commit into an exception before it reaches the database; without it a
/// commit is detected only after the unit's delegate returns, when the rows are already committed without their
/// events.</para>
/// <para>A DbContext created here lives for one unit: its change tracker reflects SaveChanges even when the unit then
/// rolls back, so it is disposed with the unit.</para>
/// </remarks>
public static class DualWriteEntityFrameworkCoreExtensions
{
    /// <summary>
    /// Creates a DbContext on the unit's connection with <paramref name="create"/> and enlists it in the unit's
    /// transaction. The caller disposes it before the unit's delegate returns (it does not own the connection).
    /// </summary>
    /// <typeparam name="TContext">The application's DbContext.</typeparam>
    /// <param name="context">The unit of work (an ADO.NET store: PostgreSQL, SQLite).</param>
    /// <param name="create">Builds the DbContext on the given connection, e.g.
    /// <c>c =&gt; new ShopDb(new DbContextOptionsBuilder&lt;ShopDb&gt;().UseNpgsql(c).Options)</c>; it must not open,
    /// close or own the connection.</param>
    /// <param name="cancellationToken">Cancels enlisting.</param>
    /// <returns>The enlisted DbContext.</returns>
    /// <exception cref="NotSupportedException">The store is not an ADO.NET store.</exception>
    public static async Task<TContext> UseDbContextAsync<TContext>(
        this DualWriteContext context, Func<DbConnection, TContext> create, CancellationToken cancellationToken = default)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(create);
        var dbContext = create(context.Connection)
            ?? throw new InvalidOperationException("The DbContext factory returned null.");
        return await EnlistAsync(dbContext, context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates a DbContext from an application's <see cref="IDbContextFactory{TContext}"/> (e.g. registered with
    /// <c>AddDbContextFactory</c>), re-points it at the unit's connection (<c>Database.SetDbConnection</c>, not owned)
    /// and enlists it in the unit's transaction. The factory's own connection string is not used.
    /// </summary>
    /// <typeparam name="TContext">The application's DbContext.</typeparam>
    /// <param name="context">The unit of work (an ADO.NET store).</param>
    /// <param name="factory">The application's DbContext factory.</param>
    /// <param name="cancellationToken">Cancels creating and enlisting.</param>
    /// <returns>The enlisted DbContext; dispose it before the unit's delegate returns.</returns>
    public static async Task<TContext> UseDbContextAsync<TContext>(
        this DualWriteContext context, IDbContextFactory<TContext> factory, CancellationToken cancellationToken = default)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(factory);
        var dbContext = await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // contextOwnsConnection: false, so disposing the DbContext leaves the unit's connection open.
            dbContext.Database.SetDbConnection(context.Connection, contextOwnsConnection: false);
        }
        catch
        {
            await dbContext.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return await EnlistAsync(dbContext, context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one dual-write unit with a DbContext: <paramref name="work"/> changes entities, calls
    /// <c>SaveChangesAsync</c> and produces its events through the <see cref="DualWriteContext"/>; the writer then
    /// prepares Kafka, stores the token and commits the DB transaction — rows and events atomically. If
    /// <paramref name="work"/> throws, neither the rows nor the events are committed and the exception propagates.
    /// </summary>
    /// <typeparam name="TContext">The application's DbContext.</typeparam>
    /// <typeparam name="T">What the unit returns.</typeparam>
    /// <param name="writer">The dual writer.</param>
    /// <param name="create">Builds the DbContext on the unit's connection (see <see cref="UseDbContextAsync{TContext}(
    /// DualWriteContext, Func{DbConnection, TContext}, CancellationToken)"/>).</param>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels the unit before its DB commit.</param>
    /// <returns>The value of <paramref name="work"/>, once the unit committed.</returns>
    /// <exception cref="InvalidOperationException">The DbContext committed or rolled back the unit's transaction
    /// itself (see the class remarks).</exception>
    public static Task<T> ExecuteWithDbContextAsync<TContext, T>(
        this DualWriter writer,
        Func<DbConnection, TContext> create,
        Func<TContext, DualWriteContext, CancellationToken, Task<T>> work,
        CancellationToken cancellationToken = default)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(writer);
        return writer.ExecuteAsync(WithDbContext(create, work), cancellationToken);
    }

    /// <summary>
    /// Runs one dual-write unit with a DbContext on a free id of <paramref name="pool"/>; the same contract as
    /// <see cref="ExecuteWithDbContextAsync{TContext, T}(DualWriter, Func{DbConnection, TContext}, Func{TContext, DualWriteContext, CancellationToken, Task{T}}, CancellationToken)"/>,
    /// including the check that the DbContext did not end the unit's transaction itself.
    /// </summary>
    /// <typeparam name="TContext">The application's DbContext.</typeparam>
    /// <typeparam name="T">What the unit returns.</typeparam>
    /// <param name="pool">The pool of dual writers.</param>
    /// <param name="create">Builds the DbContext on the unit's connection.</param>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels waiting for an id, or the unit before its DB commit.</param>
    /// <returns>The value of <paramref name="work"/>, once the unit committed.</returns>
    /// <exception cref="InvalidOperationException">The DbContext committed or rolled back the unit's transaction
    /// itself.</exception>
    public static Task<T> ExecuteWithDbContextAsync<TContext, T>(
        this DualWriterPool pool,
        Func<DbConnection, TContext> create,
        Func<TContext, DualWriteContext, CancellationToken, Task<T>> work,
        CancellationToken cancellationToken = default)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(pool);
        return pool.ExecuteAsync(WithDbContext(create, work), cancellationToken);
    }

    /// <summary>The unit body shared by the writer and pool overloads: bind, run, then verify the DbContext left the
    /// unit's transaction open (a DbContext that committed it would commit rows without their events).</summary>
    private static Func<DualWriteContext, CancellationToken, Task<T>> WithDbContext<TContext, T>(
        Func<DbConnection, TContext> create, Func<TContext, DualWriteContext, CancellationToken, Task<T>> work)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(work);
        return async (unit, ct) =>
        {
            var dbContext = await unit.UseDbContextAsync(create, ct).ConfigureAwait(false);
            await using (dbContext.ConfigureAwait(false))
            {
                var result = await work(dbContext, unit, ct).ConfigureAwait(false);
                EnsureTransactionOpen(unit);
                return result;
            }
        };
    }

    /// <summary>Runs one dual-write unit with a DbContext, returning nothing; see
    /// <see cref="ExecuteWithDbContextAsync{TContext, T}(DualWriter, Func{DbConnection, TContext}, Func{TContext, DualWriteContext, CancellationToken, Task{T}}, CancellationToken)"/>.
    /// </summary>
    /// <typeparam name="TContext">The application's DbContext.</typeparam>
    /// <param name="writer">The dual writer.</param>
    /// <param name="create">Builds the DbContext on the unit's connection.</param>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels the unit before its DB commit.</param>
    /// <returns>A task that completes when the unit committed.</returns>
    public static Task ExecuteWithDbContextAsync<TContext>(
        this DualWriter writer,
        Func<DbConnection, TContext> create,
        Func<TContext, DualWriteContext, CancellationToken, Task> work,
        CancellationToken cancellationToken = default)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(work);
        return writer.ExecuteWithDbContextAsync<TContext, bool>(create, async (db, unit, ct) =>
        {
            await work(db, unit, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>Adds <see cref="DualWriteDbTransactionGuard"/> to a DbContext's interceptors, so the DbContext cannot
    /// end a dual-write unit's transaction by accident.</summary>
    /// <param name="optionsBuilder">The DbContext's options.</param>
    /// <returns><paramref name="optionsBuilder"/>.</returns>
    public static DbContextOptionsBuilder AddDualWriteGuard(this DbContextOptionsBuilder optionsBuilder)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        return optionsBuilder.AddInterceptors(DualWriteDbTransactionGuard.Instance);
    }

    /// <summary>Adds <see cref="DualWriteDbTransactionGuard"/> to a typed DbContext's interceptors.</summary>
    /// <typeparam name="TContext">The DbContext.</typeparam>
    /// <param name="optionsBuilder">The DbContext's options.</param>
    /// <returns><paramref name="optionsBuilder"/>.</returns>
    public static DbContextOptionsBuilder<TContext> AddDualWriteGuard<TContext>(this DbContextOptionsBuilder<TContext> optionsBuilder)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        return optionsBuilder.AddInterceptors(DualWriteDbTransactionGuard.Instance);
    }

    private static async Task<TContext> EnlistAsync<TContext>(
        TContext dbContext, DualWriteContext context, CancellationToken cancellationToken)
        where TContext : DbContext
    {
        try
        {
            var transaction = context.Transaction;
            DualWriteDbTransactionGuard.Register(transaction);
            // UseTransaction wraps the unit's transaction without owning it: SaveChanges then runs in it and neither
            // opens nor commits a transaction of its own (EF Core "using external DbTransactions").
            await dbContext.Database.UseTransactionAsync(transaction, cancellationToken).ConfigureAwait(false);
            return dbContext;
        }
        catch
        {
            await dbContext.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>ADO.NET sets a transaction's <see cref="DbTransaction.Connection"/> to null once it is committed or
    /// rolled back: if the DbContext did that, the unit cannot keep its promise, so fail loudly.</summary>
    private static void EnsureTransactionOpen(DualWriteContext unit)
    {
        if (unit.Transaction.Connection is null)
        {
            throw new InvalidOperationException(
                "The DbContext completed the dual-write unit's DB transaction itself (CommitTransaction/RollbackTransaction). "
                + "Only DualWriter may commit it; if it was committed, those rows are now in the database WITHOUT their "
                + "events. Add DualWriteDbTransactionGuard to the DbContext options to prevent this.");
        }
    }
}
