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
        Connection = transaction.Connection;
        Transaction = transaction.Transaction;
        _producer = producer;
        TransactionalId = transactionalId;
    }

    /// <summary>The connection of the DB transaction.</summary>
    public DbConnection Connection { get; }

    /// <summary>The DB transaction: the unit's rows commit iff it commits, and its events with them.</summary>
    public DbTransaction Transaction { get; }

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
