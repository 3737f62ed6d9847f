using Lockstep.Cli.Demo;
using Npgsql;

namespace Lockstep.DualWrite.Tests.PostgreSql;

/// <summary>
/// The demo's PostgreSQL database (<see cref="PostgresOrderDatabase"/>): <c>--db</c> accepts keyword strings and libpq
/// URIs, <see cref="OrderDatabases.Isolate"/> yields a fresh schema per run, the description never shows a password,
/// and the schema of first use is created safely by several processes at once. Parsing tests need no server.
/// </summary>
public sealed class PostgresOrderDatabaseTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Parse_converts_a_URI_to_keywords_with_percent_decoding()
    {
        var builder = PostgresOrderDatabase.Parse(
            "postgresql://app%40corp:p%3Ass%40rd@db.example.com:6543/shop%20db?sslmode=verify-full&application_name=lockstep");
        Assert.Equal("app@corp", builder.Username);
        Assert.Equal("p:ss@rd", builder.Password);
        Assert.Equal("db.example.com", builder.Host);
        Assert.Equal(6543, builder.Port);
        Assert.Equal("shop db", builder.Database);
        Assert.Equal(SslMode.VerifyFull, builder.SslMode);
        Assert.Equal("lockstep", builder.ApplicationName);
    }

    [Fact]
    public void Parse_accepts_the_postgres_scheme_multiple_hosts_IPv6_and_Npgsql_keywords_in_the_query()
    {
        var multi = PostgresOrderDatabase.Parse("postgres://u@h1:5432,h2:5433/d?Search%20Path=s1&connect_timeout=7");
        Assert.Equal("h1:5432,h2:5433", multi.Host);
        Assert.Equal("s1", multi.SearchPath);
        Assert.Equal(7, multi.Timeout);

        var v6 = PostgresOrderDatabase.Parse("postgresql://[::1]:5444/x");
        Assert.Equal("::1", v6.Host);
        Assert.Equal(5444, v6.Port);

        var bare = PostgresOrderDatabase.Parse("postgresql://localhost");
        Assert.Equal("localhost", bare.Host);
        Assert.Null(bare.Database);
    }

    [Theory]
    [InlineData("postgresql://u@h:notaport/d")]
    [InlineData("postgresql://u@h/d?nosuchkeyword=1")]
    [InlineData("postgresql://u@h/d?novalue")]
    [InlineData("postgresql://u@h/d?connect_timeout=soon")]
    [InlineData("postgresql://u@h/d?sslmode=sometimes")]
    [InlineData("mysql://u@h/d")]
    public void Parse_rejects_malformed_URIs_with_ArgumentException(string spec) =>
        Assert.ThrowsAny<ArgumentException>(() => PostgresOrderDatabase.Parse(spec));

    [Fact]
    public async Task Description_never_contains_the_password_and_WorkerSpec_reopens_the_same_schema()
    {
        var spec = OrderDatabases.Isolate("postgresql://app:s3cr3t-pw@db.example.com/shop", "Run_42");
        Assert.Contains("Search Path=lockstep_run_42", spec, StringComparison.Ordinal);
        await using var database = OrderDatabases.Open(spec);
        Assert.IsType<PostgresOrderDatabase>(database);
        Assert.DoesNotContain("s3cr3t-pw", database.Description, StringComparison.Ordinal);
        Assert.Contains("db.example.com", database.Description, StringComparison.Ordinal);
        Assert.Contains("lockstep_run_42", database.Description, StringComparison.Ordinal);
        Assert.Equal(spec, database.WorkerSpec);
        Assert.Equal("lockstep_run_42", ((PostgresOrderDatabase)database).Schema);
    }

    [Fact]
    public void Isolate_rejects_run_ids_that_are_not_identifiers() =>
        Assert.ThrowsAny<ArgumentException>(() => OrderDatabases.Isolate("Host=h", "a-b"));

    [Fact]
    public async Task EnsureSchema_from_many_processes_at_once_creates_one_schema_and_isolates_runs()
    {
        var spec = OrderDatabases.Isolate(PostgresTestServer.ConnectionString, PostgresTestServer.FreshRunId());
        var databases = Enumerable.Range(0, 6).Select(_ => PostgresOrderDatabase.OpenPostgres(spec)).ToArray();
        try
        {
            // Concurrent CREATE SCHEMA/TABLE IF NOT EXISTS alone can fail with a unique violation in pg_namespace or
            // pg_type; the advisory lock makes every one of these succeed.
            await Task.WhenAll(databases.Select(d => d.EnsureSchemaAsync(Ct)));
            await Task.WhenAll(databases.Select(async d => await d.Store.ListStatesAsync(Ct)));

            // A second run on the same server sees none of the first run's rows.
            await using var other = PostgresOrderDatabase.OpenPostgres(
                OrderDatabases.Isolate(PostgresTestServer.ConnectionString, PostgresTestServer.FreshRunId()));
            await other.EnsureSchemaAsync(Ct);
            await using (var connection = await databases[0].PostgreSqlStore.OpenConnectionAsync(Ct))
            {
                await using var insert = new NpgsqlCommand("INSERT INTO orders VALUES (1, 5, 'x')", connection);
                await insert.ExecuteNonQueryAsync(Ct);
            }

            Assert.Equal([1], await databases[1].ReadOrderIdsAsync(Ct));
            Assert.Empty(await other.ReadOrderIdsAsync(Ct));
        }
        finally
        {
            foreach (var database in databases)
            {
                await database.DisposeAsync();
            }
        }
    }
}
