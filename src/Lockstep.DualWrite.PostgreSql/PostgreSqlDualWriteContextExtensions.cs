using System;
using Npgsql;

namespace Lockstep.DualWrite.PostgreSql;

/// <summary>Npgsql-typed access to a unit of work running on <see cref="PostgreSqlDualWriteStore"/>.</summary>
public static class PostgreSqlDualWriteContextExtensions
{
    /// <summary>The unit's connection as an <see cref="NpgsqlConnection"/> (for COPY, <see cref="NpgsqlBatch"/>,
    /// <see cref="NpgsqlConnection.ProcessID"/>).</summary>
    /// <param name="context">The unit of work.</param>
    /// <returns>The connection; valid until the unit's delegate returns. Do not commit, close or dispose it.</returns>
    /// <exception cref="NotSupportedException">The unit does not run on <see cref="PostgreSqlDualWriteStore"/>.
    /// </exception>
    public static NpgsqlConnection NpgsqlConnection(this DualWriteContext context) => Transaction(context).NpgsqlConnection;

    /// <summary>Creates an <see cref="NpgsqlCommand"/> on the unit's connection, enlisted in its transaction.</summary>
    /// <param name="context">The unit of work.</param>
    /// <param name="commandText">The SQL text (positional <c>$1</c> or named <c>@p</c> parameters).</param>
    /// <returns>The command; dispose it.</returns>
    /// <exception cref="NotSupportedException">The unit does not run on <see cref="PostgreSqlDualWriteStore"/>.
    /// </exception>
    public static NpgsqlCommand CreateNpgsqlCommand(this DualWriteContext context, string commandText)
    {
        var transaction = Transaction(context);
        return new NpgsqlCommand(commandText, transaction.NpgsqlConnection, transaction.NpgsqlTransaction);
    }

    private static PostgreSqlDualWriteTransaction Transaction(DualWriteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.StoreTransaction as PostgreSqlDualWriteTransaction
            ?? throw new NotSupportedException(
                $"The unit runs on {context.StoreTransaction.GetType().Name}, not on PostgreSqlDualWriteStore.");
    }
}
