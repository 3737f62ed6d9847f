using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.DualWrite;
using Lockstep.DualWrite.Sqlite;

namespace Lockstep.Cli.Demo;

/// <summary>The demo's orders in a SQLite file, beside <see cref="SqliteDualWriteStore"/>'s state table.</summary>
internal sealed class SqliteOrderDatabase : IOrderDatabase
{
    private readonly SqliteDualWriteStore _store;

    private SqliteOrderDatabase(string path)
    {
        Path = path;
        _store = SqliteDualWriteStore.ForFile(path);
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    public string Description => "SQLite " + Path;

    public string WorkerSpec => Path;

    public IDualWriteStore Store => _store;

    /// <summary>Opens the file at <paramref name="spec"/> (an optional <c>sqlite:</c> prefix is accepted).</summary>
    /// <param name="spec">The file path.</param>
    /// <returns>The database.</returns>
    public static SqliteOrderDatabase Open(string spec) =>
        new(System.IO.Path.GetFullPath(spec.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase) ? spec[7..] : spec));

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        var connection = await _store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE IF NOT EXISTS orders (
                    order_id INTEGER PRIMARY KEY,
                    amount_cents INTEGER NOT NULL,
                    placed_by TEXT NOT NULL
                );
                """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task InsertOrderAsync(DualWriteContext context, int orderId, int amountCents, CancellationToken cancellationToken)
    {
        using var insert = context.CreateCommand("INSERT INTO orders (order_id, amount_cents, placed_by) VALUES ($id, $amount, $by);");
        AddParameter(insert, "$id", orderId);
        AddParameter(insert, "$amount", amountCents);
        AddParameter(insert, "$by", context.TransactionalId);
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlySet<int>> ReadOrderIdsAsync(CancellationToken cancellationToken)
    {
        var ids = new HashSet<int>();
        var connection = await _store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT order_id FROM orders;";
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    ids.Add(reader.GetInt32(0));
                }
            }
        }

        return ids;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static void AddParameter(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
