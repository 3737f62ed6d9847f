using System.Text.Json;
using System.Text.RegularExpressions;

namespace Lockstep.DualWrite.Tests.Operator;

/// <summary>
/// Goal: <c>lockstep transactions</c> lets an operator find and settle the transactions dead writers left open, from
/// the decision the database recorded (dual-write.md §2, "operator tooling that knows the decision"). Method: two
/// <c>demo-worker</c> processes are SIGKILLed with a transaction prepared — one right after its DB commit (step 7: the
/// DB holds the token), one after storing the token but before committing it (step 6: the DB rolled back) — then the
/// real CLI is run against the embedded broker and the store; the read_committed stream must end up equal to the rows.
/// </summary>
public sealed class TransactionsCommandTests
{
    private const string CommittedId = "orders-a";
    private const string RolledBackId = "orders-b";

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Resolve_commits_the_transaction_the_database_committed_and_aborts_the_other(StoreKind kind)
    {
        await using var world = await OperatorWorld.StartAsync(kind);
        // orders-a: order 1 completes; order 2's DB transaction commits, then the process dies before Kafka commits.
        await world.KillWorkerAtAsync(CommittedId, 1, 3, DualWriteStep.CommitDatabase, occurrence: 2);
        // orders-b: order 11 completes; order 12's token is written but the DB transaction dies uncommitted.
        await world.KillWorkerAtAsync(RolledBackId, 11, 13, DualWriteStep.StoreToken, occurrence: 2);
        Assert.Equal([1, 2, 11], await world.ReadRowsAsync());

        // Both are listed as open two-phase-commit transactions, in the table and as JSON.
        var table = await world.RunTransactionsAsync("list", "--older-than", "0s");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches(new Regex($@"(?m)^{CommittedId}\s+Ongoing \(2PC\)\s+\d+:\d+\s+\S+\s+orders-\d"), table.Output);
        Assert.Matches(new Regex($@"(?m)^{RolledBackId}\s+Ongoing \(2PC\)\s+\d+:\d+\s+\S+\s+orders-\d"), table.Output);
        var listed = await ListJsonAsync(world, "--older-than", "0s");
        Assert.Equal([CommittedId, RolledBackId], listed.Select(t => t.Id));
        Assert.All(listed, t => Assert.Equal(("Ongoing", true, 1), (t.State, t.TwoPhase, t.Partitions)));

        // A dry run predicts from the broker's description and the recorded token, and changes nothing.
        var committedToken = await world.Database.Store.ReadCommittedTokenAsync(CommittedId, TestContext.Current.CancellationToken);
        var dryCommit = await world.RunTransactionsAsync("resolve", CommittedId, "--store", world.Spec, "--dry-run");
        Assert.True(dryCommit.ExitCode == 0, dryCommit.ToString());
        Assert.Contains($"dry run: prepared {committedToken} (per the broker), database holds {committedToken} → would commit",
            dryCommit.Output, StringComparison.Ordinal);
        var dryAbort = await world.RunTransactionsAsync("resolve", RolledBackId, "--store", world.Spec, "--dry-run");
        Assert.True(dryAbort.ExitCode == 0, dryAbort.ToString());
        Assert.Contains("→ would abort", dryAbort.Output, StringComparison.Ordinal);
        Assert.Equal(2, (await ListJsonAsync(world, "--older-than", "0s")).Count);

        // The real thing: commit iff the DB holds the prepared token.
        var commit = await world.RunTransactionsAsync("resolve", CommittedId, "--store", world.Spec);
        Assert.True(commit.ExitCode == 0, commit.ToString());
        Assert.Contains($"prepared {committedToken}, database holds {committedToken} → committed", commit.Output, StringComparison.Ordinal);
        Assert.Contains("fences", commit.Error, StringComparison.Ordinal);

        var rolledBackToken = await world.Database.Store.ReadCommittedTokenAsync(RolledBackId, TestContext.Current.CancellationToken);
        Assert.False(string.IsNullOrEmpty(rolledBackToken)); // order 11's unit committed its own token
        var abort = await world.RunTransactionsAsync("resolve", RolledBackId, "--store", world.Spec);
        Assert.True(abort.ExitCode == 0, abort.ToString());
        var aborted = Regex.Match(abort.Output, @"prepared (\d+:\d+), database holds (\d+:\d+) → aborted");
        Assert.True(aborted.Success, abort.ToString());
        Assert.Equal(rolledBackToken, aborted.Groups[2].Value);
        Assert.NotEqual(rolledBackToken, aborted.Groups[1].Value);

        // Exactly the committed units' events are visible, and nothing is left open.
        Assert.Equal([1, 2, 11], await world.ReadCommittedEventsAsync());
        Assert.Empty(await ListJsonAsync(world, "--older-than", "0s"));
        var again = await world.RunTransactionsAsync("resolve", CommittedId, "--store", world.Spec);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("nothing prepared", again.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Force_terminate_refuses_without_yes_and_with_yes_aborts_ignoring_the_database()
    {
        await using var world = await OperatorWorld.StartAsync(StoreKind.Sqlite);
        await world.KillWorkerAtAsync(CommittedId, 1, 2, DualWriteStep.CommitDatabase, occurrence: 1);
        Assert.Equal([1], await world.ReadRowsAsync());

        var refused = await world.RunTransactionsAsync("force-terminate", CommittedId);
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("WITHOUT consulting the database", refused.Error, StringComparison.Ordinal);
        Assert.Contains("atomicity is broken", refused.Error, StringComparison.Ordinal);
        Assert.Contains("--yes", refused.Error, StringComparison.Ordinal);
        var stillOpen = await DescribeJsonAsync(world, CommittedId);
        Assert.Equal("Ongoing", stillOpen.GetProperty("state").GetString());

        var forced = await world.RunTransactionsAsync("force-terminate", CommittedId, "--yes");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Contains($"force-terminated '{CommittedId}'", forced.Output, StringComparison.Ordinal);

        // What the warning says happens: the row stays, its event is gone (the failure table's last row).
        Assert.Empty(await world.ReadCommittedEventsAsync());
        Assert.Equal([1], await world.ReadRowsAsync());
        Assert.Empty(await ListJsonAsync(world, "--older-than", "0s"));
        var resolve = await world.RunTransactionsAsync("resolve", CommittedId, "--store", world.Spec);
        Assert.True(resolve.ExitCode == 0, resolve.ToString());
        Assert.Contains("nothing prepared", resolve.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Describe_shows_one_transaction_and_bad_input_fails_clearly()
    {
        await using var world = await OperatorWorld.StartAsync(StoreKind.Sqlite);
        await world.KillWorkerAtAsync(CommittedId, 1, 2, DualWriteStep.Prepare, occurrence: 1);

        var described = await world.RunTransactionsAsync("describe", CommittedId);
        Assert.True(described.ExitCode == 0, described.ToString());
        Assert.Matches(new Regex(@"(?m)^state\s+Ongoing \(2PC\)$"), described.Output);
        Assert.Matches(new Regex(@"(?m)^timeout\s+none \(two-phase commit"), described.Output);
        Assert.Matches(new Regex(@"(?m)^partitions\s+orders-\d$"), described.Output);
        var json = await DescribeJsonAsync(world, CommittedId);
        Assert.True(json.GetProperty("ageMs").GetInt64() >= 0);
        Assert.True(json.GetProperty("producerEpoch").GetInt32() >= 0);

        // --state filters on the broker; --older-than a day matches nothing yet.
        Assert.Single(await ListJsonAsync(world, "--state", "ongoing"));
        Assert.Empty(await ListJsonAsync(world, "--state", "CompleteAbort"));
        Assert.Empty(await ListJsonAsync(world, "--older-than", "1d"));

        var badDuration = await world.RunTransactionsAsync("list", "--older-than", "5x");
        Assert.True(badDuration.ExitCode == 2, badDuration.ToString());
        Assert.Contains("--older-than: '5x' is not a duration", badDuration.Error, StringComparison.Ordinal);
        Assert.Empty(badDuration.Output);

        var badState = await world.RunTransactionsAsync("list", "--state", "Prepared");
        Assert.True(badState.ExitCode == 2, badState.ToString());
        Assert.Contains("unknown state 'Prepared'", badState.Error, StringComparison.Ordinal);

        var unknown = await world.RunTransactionsAsync("describe", "no-such-id");
        Assert.True(unknown.ExitCode == 1, unknown.ToString());
        Assert.Contains("unknown transactional id 'no-such-id'", unknown.Error, StringComparison.Ordinal);

        var unknownResolve = await world.RunTransactionsAsync("resolve", "no-such-id", "--store", world.Spec);
        Assert.True(unknownResolve.ExitCode == 1, unknownResolve.ToString());
        Assert.Contains("unknown transactional id", unknownResolve.Error, StringComparison.Ordinal);

        // A store without the id's state row holds no decision (wrong database or namespace?): refuse, don't abort.
        using (var elsewhere = new Lockstep.Testing.TempDirectory("operator-other"))
        {
            var otherStore = elsewhere.Combine("other.db");
            var noRow = await world.RunTransactionsAsync("resolve", CommittedId, "--store", otherStore);
            Assert.True(noRow.ExitCode == 1, noRow.ToString());
            Assert.Contains($"the store has no state row for '{CommittedId}'", noRow.Error, StringComparison.Ordinal);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }

        var missingStore = await world.RunTransactionsAsync("resolve", CommittedId);
        Assert.True(missingStore.ExitCode == 2, missingStore.ToString());
        Assert.Contains("--store", missingStore.Error, StringComparison.Ordinal);

        // A port nobody listens on: the bound port of a listener that was closed again.
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var unreachable = await OperatorWorld.RunCliAsync(
            ["transactions", "list", "--bootstrap", $"127.0.0.1:{port}", "--timeout", "2s"]);
        Assert.True(unreachable.ExitCode == 1, unreachable.ToString());
        Assert.Contains($"the broker at 127.0.0.1:{port} is unreachable", unreachable.Error, StringComparison.Ordinal);

        // None of the failures above touched the open transaction.
        Assert.Equal("Ongoing", (await DescribeJsonAsync(world, CommittedId)).GetProperty("state").GetString());
    }

    private sealed record Listed(string Id, string State, bool TwoPhase, int Partitions);

    private static async Task<List<Listed>> ListJsonAsync(OperatorWorld world, params string[] filters)
    {
        var run = await world.RunTransactionsAsync(["list", .. filters, "--json"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        using var document = JsonDocument.Parse(run.Output);
        return
        [
            .. document.RootElement.EnumerateArray().Select(t => new Listed(
                t.GetProperty("transactionalId").GetString()!, t.GetProperty("state").GetString()!,
                t.GetProperty("twoPhaseCommit").GetBoolean(), t.GetProperty("partitions").GetArrayLength())),
        ];
    }

    private static async Task<JsonElement> DescribeJsonAsync(OperatorWorld world, string id)
    {
        var run = await world.RunTransactionsAsync("describe", id, "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var document = JsonDocument.Parse(run.Output);
        return document.RootElement.Clone();
    }
}
