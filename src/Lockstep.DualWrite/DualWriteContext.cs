using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client;

namespace Lockstep.DualWrite;

/// <summary>
/// What a unit of work gets from <see cref="DualWriter.ExecuteAsync{T}"/>: the open DB transaction for its rows and a
/// produce method for its events (recipe step 4). Valid only until the unit's delegate returns.
/// </summary>
public sealed class DualWriteContext
{
    private readonly KafkaProducer _producer;
    private readonly List<Task<DeliveryResult>> _produced = [];

    internal DualWriteContext(IDualWriteTransaction transaction, KafkaProducer producer, string transactionalId)
    {
        StoreTransaction = transaction;
        _producer = producer;
        TransactionalId = transactionalId;
    }

    /// <summary>The store's open transaction. ADO.NET stores give an <see cref="IDbDualWriteTransaction"/> (also
    /// reachable through <see cref="Connection"/> and <see cref="Transaction"/>); other stores their own type, reached
    /// through the store package's extension method (e.g. <c>context.Redis()</c>).</summary>
    public IDualWriteTransaction StoreTransaction { get; }

    /// <summary>The connection of the DB transaction.</summary>
    /// <exception cref="NotSupportedException">The store is not an ADO.NET store.</exception>
    public DbConnection Connection => DbTransaction.Connection;

    /// <summary>The DB transaction: the unit's rows commit iff it commits, and its events with them.</summary>
    /// <exception cref="NotSupportedException">The store is not an ADO.NET store.</exception>
    public DbTransaction Transaction => DbTransaction.Transaction;

    private IDbDualWriteTransaction DbTransaction => StoreTransaction as IDbDualWriteTransaction
        ?? throw new NotSupportedException(
            $"The store's transaction ({StoreTransaction.GetType().Name}) is not an ADO.NET transaction; write through "
            + "StoreTransaction or the store package's extension method instead of Connection/Transaction.");

    /// <summary>The writer's Kafka transactional id.</summary>
    public string TransactionalId { get; }

    /// <summary>Records produced so far by this unit (their delivery tasks).</summary>
    internal IReadOnlyList<Task<DeliveryResult>> Produced => _produced;

    /// <summary>Creates a command on <see cref="Connection"/> enlisted in <see cref="Transaction"/>.</summary>
    /// <param name="commandText">The SQL text.</param>
    /// <returns>The command; dispose it.</returns>
    public DbCommand CreateCommand(string commandText)
    {
        var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = commandText;
        return command;
    }

    /// <summary>
    /// Produces an event inside the Kafka transaction. It becomes visible to read_committed consumers iff the DB
    /// transaction commits. The writer waits for every produced record before preparing (step 5 flushes), so the
    /// returned task need not be awaited.
    /// </summary>
    /// <param name="record">The event.</param>
    /// <param name="cancellationToken">Cancels waiting for metadata or buffer space.</param>
    /// <returns>Where the record was written (offsets of an aborted transaction are never exposed).</returns>
    public Task<DeliveryResult> ProduceAsync(ProducerRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var task = _producer.ProduceAsync(record, cancellationToken);
        _produced.Add(task);
        return task;
    }
}
