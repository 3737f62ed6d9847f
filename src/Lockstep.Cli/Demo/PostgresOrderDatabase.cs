using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.DualWrite;
using Lockstep.DualWrite.PostgreSql;
using Npgsql;

namespace Lockstep.Cli.Demo;

/// <summary>
/// The demo's orders in PostgreSQL, beside <see cref="PostgreSqlDualWriteStore"/>'s state table, both in the first
/// schema of the connection's search path (or the server's default when none is given). <see cref="Isolate"/> gives
/// every run its own schema, so runs and tests sharing a server never see each other's rows.
/// </summary>
internal sealed class PostgresOrderDatabase : IOrderDatabase
{
    /// <summary>The same advisory-lock key the store uses for its DDL (concurrent CREATE … IF NOT EXISTS is unsafe).
    /// </summary>
    private const long SchemaLockKey = 0x4C6F636B;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlDualWriteStore _store;
    private readonly string? _schema;
    private readonly string _ordersTable;

    private PostgresOrderDatabase(NpgsqlConnectionStringBuilder builder)
    {
        WorkerSpec = builder.ConnectionString;
        _schema = FirstSearchPathSchema(builder.SearchPath);
        _ordersTable = _schema is null ? "orders" : $"\"{_schema}\".orders";
        Description = string.Create(CultureInfo.InvariantCulture,
            $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database ?? builder.Username ?? "postgres"}")
            + (_schema is null ? string.Empty : " schema " + _schema);
        _dataSource = NpgsqlDataSource.Create(builder);
        // The store's table goes into the same schema, named explicitly so the store creates the schema itself when a
        // worker process uses it before the parent ran EnsureSchemaAsync.
        _store = new PostgreSqlDualWriteStore(_dataSource, new PostgreSqlDualWriteStoreOptions { Schema = _schema });
    }

    /// <summary>Host, port, database and schema; never the password (the builder's own text would include it).</summary>
    public string Description { get; }

    /// <summary>The keyword connection string (URIs are converted), password included: a child process needs it.
    /// </summary>
    public string WorkerSpec { get; }

    public IDualWriteStore Store => _store;

    /// <summary>The store, typed (tests use its data source).</summary>
    public PostgreSqlDualWriteStore PostgreSqlStore => _store;

    /// <summary>The schema holding the orders and state tables, or null for the search path's default.</summary>
    public string? Schema => _schema;

    /// <summary>Opens the database a connection string or URI names (nothing is contacted until first use).</summary>
    /// <param name="spec">A keyword string (<c>Host=…;Username=…</c>) or a <c>postgres://</c> /
    /// <c>postgresql://</c> URI.</param>
    /// <returns>The database.</returns>
    public static IOrderDatabase Open(string spec) => OpenPostgres(spec);

    /// <summary>Like <see cref="Open"/>, typed.</summary>
    /// <param name="spec">A keyword string or URI.</param>
    /// <returns>The database.</returns>
    public static PostgresOrderDatabase OpenPostgres(string spec) => new(Parse(spec));

    /// <summary>The spec of schema <c>lockstep_&lt;runId&gt;</c> on the same server: <c>Search Path</c> set, the
    /// schema itself created by <see cref="EnsureSchemaAsync"/> (or the store's first use).</summary>
    /// <param name="spec">A keyword string or URI.</param>
    /// <param name="runId">Letters, digits and '_' only.</param>
    /// <returns>A keyword connection string.</returns>
    public static string Isolate(string spec, string runId)
    {
        // Lower-cased because an unquoted search_path entry is folded to lower case by the server.
        var schema = "lockstep_" + runId.ToLowerInvariant();
        if (!PostgreSqlDualWriteStoreOptions.IsValidIdentifier(schema))
        {
            throw new ArgumentException($"Run id '{runId}' must be letters, digits and '_' (schema '{schema}').", nameof(runId));
        }

        var builder = Parse(spec);
        builder.SearchPath = schema;
        return builder.ConnectionString;
    }

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using var batch = new NpgsqlBatch(connection, transaction);
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock({SchemaLockKey})"));
                if (_schema is not null)
                {
                    batch.BatchCommands.Add(new NpgsqlBatchCommand($"CREATE SCHEMA IF NOT EXISTS \"{_schema}\""));
                }

                batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                    CREATE TABLE IF NOT EXISTS {_ordersTable} (
                        order_id int PRIMARY KEY,
                        amount_cents int NOT NULL,
                        placed_by text NOT NULL
                    )
                    """));
                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task InsertOrderAsync(DualWriteContext context, int orderId, int amountCents, CancellationToken cancellationToken)
    {
        using var insert = context.CreateNpgsqlCommand(
            $"INSERT INTO {_ordersTable} (order_id, amount_cents, placed_by) VALUES ($1, $2, $3)");
        insert.Parameters.Add(new NpgsqlParameter { Value = orderId });
        insert.Parameters.Add(new NpgsqlParameter { Value = amountCents });
        insert.Parameters.Add(new NpgsqlParameter { Value = context.TransactionalId });
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlySet<int>> ReadOrderIdsAsync(CancellationToken cancellationToken)
    {
        var ids = new HashSet<int>();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand($"SELECT order_id FROM {_ordersTable}", connection);
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

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Parses a keyword connection string or a libpq URI
    /// (<c>postgresql://[user[:password]@][host[:port][,host[:port]…]][/database][?key=value&amp;…]</c>, RFC 3986
    /// percent-encoding) into Npgsql's builder. libpq's query keys <c>sslmode</c>, <c>application_name</c>,
    /// <c>connect_timeout</c>, <c>options</c> and <c>target_session_attrs</c> are mapped to Npgsql's keywords; any other
    /// key must be an Npgsql keyword (e.g. <c>host=/var/run/postgresql</c> for a Unix socket).
    /// </summary>
    /// <param name="spec">The connection string or URI.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The spec is malformed or names an unknown keyword.</exception>
    internal static NpgsqlConnectionStringBuilder Parse(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        var schemeEnd = spec.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            return new NpgsqlConnectionStringBuilder(spec);
        }

        var scheme = spec[..schemeEnd];
        if (!scheme.Equals("postgresql", StringComparison.OrdinalIgnoreCase)
            && !scheme.Equals("postgres", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Not a PostgreSQL URI (scheme '{scheme}'): expected postgresql:// or postgres://.",
                nameof(spec));
        }

        var builder = new NpgsqlConnectionStringBuilder();
        var rest = spec[(schemeEnd + 3)..];
        var queryStart = rest.IndexOf('?', StringComparison.Ordinal);
        var query = queryStart < 0 ? string.Empty : rest[(queryStart + 1)..];
        rest = queryStart < 0 ? rest : rest[..queryStart];
        var pathStart = rest.IndexOf('/', StringComparison.Ordinal);
        if (pathStart >= 0)
        {
            var database = Uri.UnescapeDataString(rest[(pathStart + 1)..]);
            if (database.Length > 0)
            {
                builder.Database = database;
            }

            rest = rest[..pathStart];
        }

        // The userinfo ends at the LAST '@': a password may contain an unencoded '@' in hand-written URIs.
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            }
        }

        if (rest.Length > 0)
        {
            SetHosts(builder, rest);
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"Malformed URI query parameter '{pair}' (expected key=value).", nameof(spec));
            }

            SetQueryParameter(builder, Uri.UnescapeDataString(pair[..equals]), Uri.UnescapeDataString(pair[(equals + 1)..]));
        }

        return builder;
    }

    private static void SetHosts(NpgsqlConnectionStringBuilder builder, string hostList)
    {
        var hosts = new List<(string Host, int? Port)>();
        foreach (var entry in hostList.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            // host, host:port, [v6], [v6]:port
            string host;
            string? port;
            if (entry.StartsWith('['))
            {
                var close = entry.IndexOf(']', StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new ArgumentException($"Malformed IPv6 host '{entry}' in the PostgreSQL URI.", nameof(hostList));
                }

                host = entry[1..close];
                port = entry.Length > close + 1 && entry[close + 1] == ':' ? entry[(close + 2)..] : null;
            }
            else
            {
                var colon = entry.LastIndexOf(':');
                host = colon < 0 ? entry : entry[..colon];
                port = colon < 0 ? null : entry[(colon + 1)..];
            }

            int? number = null;
            if (port is not null)
            {
                if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed is < 1 or > 65535)
                {
                    throw new ArgumentException($"Invalid port '{port}' in the PostgreSQL URI.", nameof(hostList));
                }

                number = parsed;
            }

            hosts.Add((Uri.UnescapeDataString(host), number));
        }

        if (hosts.Count == 1)
        {
            // One host: the plain Host/Port keywords.
            builder.Host = hosts[0].Host;
            if (hosts[0].Port is { } port)
            {
                builder.Port = port;
            }

            return;
        }

        // Npgsql's multi-host syntax (failover / load balancing): "h1:5432,h2:5433", IPv6 in brackets.
        builder.Host = string.Join(',', hosts.ConvertAll(h =>
        {
            var host = h.Host.Contains(':', StringComparison.Ordinal) ? "[" + h.Host + "]" : h.Host;
            return h.Port is { } port ? host + ":" + port.ToString(CultureInfo.InvariantCulture) : host;
        }));
    }

    private static void SetQueryParameter(NpgsqlConnectionStringBuilder builder, string key, string value)
    {
        switch (key)
        {
            case "sslmode":
                // libpq spells verify-ca / verify-full with a hyphen; Npgsql's enum has VerifyCA / VerifyFull.
                builder.SslMode = Enum.Parse<SslMode>(value.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true);
                break;
            case "application_name":
                builder.ApplicationName = value;
                break;
            case "connect_timeout":
                builder.Timeout = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    ? seconds
                    : throw new ArgumentException($"Invalid connect_timeout '{value}' in the PostgreSQL URI.", nameof(value));
                break;
            case "options":
                builder.Options = value;
                break;
            case "target_session_attrs":
                builder[nameof(NpgsqlConnectionStringBuilder.TargetSessionAttributes)] = value;
                break;
            default:
                try
                {
                    builder[key] = value;
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"Unknown PostgreSQL URI parameter '{key}': {e.Message}", nameof(key), e);
                }

                break;
        }
    }

    /// <summary>The first schema of a <c>search_path</c> value as the server resolves it: unquoted names fold to lower
    /// case; <c>$user</c> and names outside [A-Za-z0-9_] give null (the search path then decides, unqualified).</summary>
    private static string? FirstSearchPathSchema(string? searchPath)
    {
        if (string.IsNullOrWhiteSpace(searchPath))
        {
            return null;
        }

        var first = searchPath.Split(',')[0].Trim();
        var name = first.Length > 1 && first[0] == '"' && first[^1] == '"' ? first[1..^1] : first.ToLowerInvariant();
        return PostgreSqlDualWriteStoreOptions.IsValidIdentifier(name) ? name : null;
    }
}
