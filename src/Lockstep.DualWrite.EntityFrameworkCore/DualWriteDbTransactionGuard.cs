using System;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Lockstep.DualWrite.EntityFrameworkCore;

/// <summary>
/// An EF Core interceptor that refuses to commit or roll back the DB transaction of a dual-write unit from inside a
/// DbContext: only <see cref="DualWriter"/> may end it (recipe step 7, after the Kafka token is stored). Register it
/// once with <c>optionsBuilder.AddDualWriteGuard()</c> (or <c>AddInterceptors(DualWriteDbTransactionGuard.Instance)</c>); other
/// transactions of the same DbContext are unaffected.
/// </summary>
public sealed class DualWriteDbTransactionGuard : DbTransactionInterceptor
{
    /// <summary>Transactions handed to a DbContext by <see cref="DualWriteEntityFrameworkCoreExtensions"/>; weak, so
    /// finished units are collected with their transactions.</summary>
    private static readonly ConditionalWeakTable<DbTransaction, object> s_unitTransactions = [];

    private DualWriteDbTransactionGuard()
    {
    }

    /// <summary>The stateless shared instance.</summary>
    public static DualWriteDbTransactionGuard Instance { get; } = new();

    /// <inheritdoc/>
    public override InterceptionResult TransactionCommitting(
        DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
    {
        ThrowIfUnitTransaction(transaction, "commit");
        return result;
    }

    /// <inheritdoc/>
    public override ValueTask<InterceptionResult> TransactionCommittingAsync(
        DbTransaction transaction, TransactionEventData eventData, InterceptionResult result,
        CancellationToken cancellationToken = default)
    {
        ThrowIfUnitTransaction(transaction, "commit");
        return new(result);
    }

    /// <inheritdoc/>
    public override InterceptionResult TransactionRollingBack(
        DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
    {
        ThrowIfUnitTransaction(transaction, "roll back");
        return result;
    }

    /// <inheritdoc/>
    public override ValueTask<InterceptionResult> TransactionRollingBackAsync(
        DbTransaction transaction, TransactionEventData eventData, InterceptionResult result,
        CancellationToken cancellationToken = default)
    {
        ThrowIfUnitTransaction(transaction, "roll back");
        return new(result);
    }

    internal static void Register(DbTransaction transaction) => s_unitTransactions.AddOrUpdate(transaction, Instance);

    private static void ThrowIfUnitTransaction(DbTransaction transaction, string verb)
    {
        if (s_unitTransactions.TryGetValue(transaction, out _))
        {
            throw new InvalidOperationException(
                $"A DbContext tried to {verb} the DB transaction of a dual-write unit. DualWriter ends it (after storing "
                + "the Kafka token); to abandon the unit, throw from the unit of work instead.");
        }
    }
}
