using Lockstep.Cli.Demo;
using Lockstep.DualWrite.PostgreSql;
using Npgsql;

namespace Lockstep.DualWrite.Tests.PostgreSql;

/// <summary>
/// Issue 6, "a database connection dropped during COMMIT", both ways it can happen (dual-write.md failure table, row
/// "commit outcome unknown"): (a) the backend dies before COMMIT reaches it — the DB rolled back, so the writer must
/// abort Kafka and report RolledBack; (b) COMMIT reaches the server and commits, but the answer is lost on the way
/// back (a TCP proxy cuts the socket after forwarding COMMIT) — the writer must re-read the token, find its own, and
/// commit Kafka. Method: a real DualWriter against the embedded broker and PostgreSQL, one partition (so a later
/// unit's event being visible proves no earlier transaction is left open), a pool of ONE connection (so a broken
/// connection returned to the pool would fail the next unit), and rows vs read_committed events at the end.
/// </summary>
public sealed class CommitConnectionDropTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Backend_terminated_before_COMMIT_rolls_back_and_aborts_Kafka()
    {
        var server = PostgresTestServer.ConnectionString;
        var spec = OrderDatabases.Isolate(
            new NpgsqlConnectionStringBuilder(server) { MaxPoolSize = 1 }.ConnectionString, PostgresTestServer.FreshRunId());
        var database = PostgresOrderDatabase.OpenPostgres(spec);
        await database.EnsureSchemaAsync(Ct);
        await using var world = await StoreTestWorld.StartAsync(new Testing.TempDirectory("pg-drop"), database, partitions: 1);

        var unitBackend = 0;
        var terminated = 0;
        var kill = false;
        var observer = new StepObserver((_, step) =>
        {
            if (step != DualWriteStep.StoreToken || !kill)
            {
                return;
            }

            kill = false;
            // From another connection, like an operator or a failover. The second argument makes the call wait until
            // the backend has exited (PostgreSQL 14+), so COMMIT is sent to a dead backend.
            using var admin = new NpgsqlConnection(server);
            admin.Open();
            using var command = new NpgsqlCommand("SELECT pg_terminate_backend($1, 10000)", admin);
            command.Parameters.Add(new NpgsqlParameter { Value = unitBackend });
            if (command.ExecuteScalar() is true)
            {
                terminated++;
            }
        });
        await using var writer = world.CreateWriter("pg-drop-a", observer);

        await world.PlaceOrderAsync(writer, 1);
        var tokenOfUnit1 = await database.Store.ReadCommittedTokenAsync("pg-drop-a", Ct);
        Assert.False(string.IsNullOrEmpty(tokenOfUnit1));

        kill = true;
        var error = await Assert.ThrowsAsync<DualWriteException>(() => writer.ExecuteAsync(async (context, ct) =>
        {
            unitBackend = context.NpgsqlConnection().ProcessID;
            await database.InsertOrderAsync(context, 2, 100, ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(context, 2, ct);
        }, Ct));
        Assert.Equal(1, terminated);
        Assert.Equal(DualWriteOutcome.RolledBack, error.Outcome);
        Assert.IsAssignableFrom<NpgsqlException>(error.InnerException); // the COMMIT itself failed
        Assert.Equal(tokenOfUnit1, await database.Store.ReadCommittedTokenAsync("pg-drop-a", Ct));

        // The same writer and the same one-connection pool carry on: the dead connection was not pooled, and the
        // aborted Kafka transaction does not pin the partition (3 becomes visible).
        await world.PlaceOrderAsync(writer, 3);
        await world.AssertRowsEqualEventsAsync(1, 3);
    }

    [Fact]
    public async Task Answer_to_a_committed_COMMIT_lost_resolves_by_rereading_the_token_and_commits_Kafka()
    {
        var server = new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString);
        await using var proxy = new TcpCutProxy(server.Host!, server.Port);
        var proxied = new NpgsqlConnectionStringBuilder(server.ConnectionString)
        {
            Host = "127.0.0.1",
            Port = proxy.Port,
            SslMode = SslMode.Disable, // the proxy must see the COMMIT message in clear
            MaxPoolSize = 1,
        };
        var database = PostgresOrderDatabase.OpenPostgres(
            OrderDatabases.Isolate(proxied.ConnectionString, PostgresTestServer.FreshRunId()));
        await database.EnsureSchemaAsync(Ct);
        await using var world = await StoreTestWorld.StartAsync(new Testing.TempDirectory("pg-drop"), database, partitions: 1);

        var steps = new List<DualWriteStep>();
        var recording = false;
        var observer = new StepObserver((_, step) =>
        {
            if (!recording)
            {
                return;
            }

            steps.Add(step);
            if (step == DualWriteStep.StoreToken)
            {
                proxy.ArmCutOnNextCommit(); // this unit's COMMIT, the next one on the wire
            }
        });
        await using var writer = world.CreateWriter("pg-drop-b", observer);

        await world.PlaceOrderAsync(writer, 1);
        var tokenOfUnit1 = await database.Store.ReadCommittedTokenAsync("pg-drop-b", Ct);
        var connectionsBefore = proxy.AcceptedConnections;

        // Reports success: the DB did commit, and the writer proved it by reading back its own token.
        recording = true;
        await world.PlaceOrderAsync(writer, 2);
        recording = false;
        Assert.Equal(1, proxy.Cuts);
        Assert.True(proxy.AcceptedConnections > connectionsBefore, "the re-read must use a new physical connection");
        // Unit 2's own token (a new epoch per transaction, KIP-890) is what the DB holds now.
        var tokenOfUnit2 = await database.Store.ReadCommittedTokenAsync("pg-drop-b", Ct);
        Assert.False(string.IsNullOrEmpty(tokenOfUnit2));
        Assert.NotEqual(tokenOfUnit1, tokenOfUnit2);

        // The unit went through CommitDatabase and CommitKafka once the outcome was resolved.
        Assert.Equal(
            [
                DualWriteStep.LockState, DualWriteStep.CompletePrevious, DualWriteStep.WriteAndProduce, DualWriteStep.Prepare,
                DualWriteStep.StoreToken, DualWriteStep.CommitDatabase, DualWriteStep.CommitKafka,
            ],
            steps);

        // Pool of one: the cut connection was discarded, not handed to the next unit.
        await world.PlaceOrderAsync(writer, 3);
        await world.AssertRowsEqualEventsAsync(1, 2, 3);
    }

    [Fact]
    public async Task COMMIT_refused_by_the_server_is_read_back_as_rolled_back_and_the_connection_stays_usable()
    {
        // The other kind of COMMIT failure: the connection is fine but the server refuses to commit (a deferred
        // constraint is checked at COMMIT, SQLSTATE 23505). Same rule: the writer reads the token back, finds it
        // absent, aborts Kafka. The connection is healthy, so it goes back to the pool of one and is reused.
        var database = PostgresOrderDatabase.OpenPostgres(OrderDatabases.Isolate(
            new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { MaxPoolSize = 1 }.ConnectionString,
            PostgresTestServer.FreshRunId()));
        await database.EnsureSchemaAsync(Ct);
        await using var world = await StoreTestWorld.StartAsync(new Testing.TempDirectory("pg-drop"), database, partitions: 1);
        await using (var connection = await database.PostgreSqlStore.OpenConnectionAsync(Ct))
        {
            await using var create = new NpgsqlCommand(
                "CREATE TABLE audit (k int, CONSTRAINT audit_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)", connection);
            await create.ExecuteNonQueryAsync(Ct);
        }

        await using var writer = world.CreateWriter("pg-refused");
        await world.PlaceOrderAsync(writer, 1);
        var error = await Assert.ThrowsAsync<DualWriteException>(() => writer.ExecuteAsync(async (context, ct) =>
        {
            await database.InsertOrderAsync(context, 2, 100, ct);
            await using var audit = context.CreateNpgsqlCommand("INSERT INTO audit VALUES (7), (7)"); // accepted until COMMIT
            await audit.ExecuteNonQueryAsync(ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(context, 2, ct);
        }, Ct));
        Assert.Equal(DualWriteOutcome.RolledBack, error.Outcome);
        Assert.Equal(PostgresErrorCodes.UniqueViolation, Assert.IsType<PostgresException>(error.InnerException).SqlState);

        await world.PlaceOrderAsync(writer, 3);
        await world.AssertRowsEqualEventsAsync(1, 3);
    }
}
