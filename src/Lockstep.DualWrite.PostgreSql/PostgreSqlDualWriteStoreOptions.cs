using System;

namespace Lockstep.DualWrite.PostgreSql;

/// <summary>Settings of <see cref="PostgreSqlDualWriteStore"/>.</summary>
public sealed class PostgreSqlDualWriteStoreOptions
{
    /// <summary>
    /// The schema of the state table, created with it on first use (<c>CREATE SCHEMA IF NOT EXISTS</c>). Null (the
    /// default) leaves the name unqualified, so it resolves through the connection's <c>search_path</c> like the
    /// application's own tables (Npgsql's <c>Search Path</c> connection-string keyword); the first schema of the path
    /// must then exist. Letters, digits and '_' only.
    /// </summary>
    public string? Schema { get; set; }

    /// <summary>The state table's name; default <c>lockstep_txn_state</c>. Letters, digits and '_' only, so several
    /// applications can keep separate tables in one schema (e.g. <c>billing_txn_state</c>).</summary>
    public string TableName { get; set; } = "lockstep_txn_state";

    internal void Validate()
    {
        if (Schema is not null)
        {
            ValidateIdentifier(Schema, nameof(Schema));
        }

        ValidateIdentifier(TableName, nameof(TableName));
    }

    /// <summary>Whether <paramref name="value"/> is accepted as <see cref="Schema"/> or <see cref="TableName"/>: 1 to 63
    /// ASCII letters, digits and '_'.</summary>
    /// <param name="value">The candidate name.</param>
    /// <returns>True when valid.</returns>
    public static bool IsValidIdentifier(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 63)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Identifiers are spliced into DDL/DML (they cannot be bind parameters), so only a safe alphabet is
    /// accepted and the name is always double-quoted, which also keeps its case.</summary>
    internal static void ValidateIdentifier(string value, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value, name);
        if (value.Length > 63)
        {
            // NAMEDATALEN - 1: PostgreSQL would silently truncate a longer name.
            throw new ArgumentException($"{name} '{value}' is longer than PostgreSQL's 63-byte identifier limit.", name);
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                throw new ArgumentException($"{name} '{value}' may contain only ASCII letters, digits and '_'.", name);
            }
        }
    }
}
