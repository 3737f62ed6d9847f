using System.Diagnostics;
using Lockstep.Cli.Demo;
using Lockstep.Testing;

namespace Lockstep.DualWrite.Tests.Conformance;

/// <summary>
/// Goal: every <see cref="IDualWriteStore"/> honours the contract the writer and the pool rely on (IDualWriteStore.cs):
/// leases are exclusive, renewable, expire and can be released; of several instances racing for an expired lease
/// exactly one wins; <c>LockStateAsync</c> serialises two writers of one id (a blocking store makes the second wait,
/// an optimistic one refuses one of the two commits — never a lost update); a token commits with its transaction and reads
/// back; <c>ListStatesAsync</c> reports tokens and leases. Method: the store of a fresh <see cref="IOrderDatabase"/> per
/// test, no broker.
/// </summary>
public sealed class StoreConformanceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Lease_is_exclusive_renewable_and_released(StoreKind kind)
    {
        using var directory = new TempDirectory("dualwrite-conformance");
        await using var database = await TestStores.OpenFreshAsync(kind, directory);
        var store = database.Store;
        var minute = TimeSpan.FromMinutes(1);

        Assert.True(await store.TryAcquireLeaseAsync("ids-0", "a", minute, Ct)); // Creates the missing row.
        Assert.False(await store.TryAcquireLeaseAsync("ids-0", "b", minute, Ct));
        Assert.True(await store.TryAcquireLeaseAsync("ids-0", "a", minute, Ct)); // Renewal by the owner.
        var renewed = Assert.Single(await store.ListStatesAsync(Ct), r => r.TransactionalId == "ids-0");
        Assert.Equal("a", renewed.LeaseOwner);
        Assert.NotNull(renewed.LeaseExpiresAt);

        await store.ReleaseLeaseAsync("ids-0", "b", Ct); // Not b's lease: a no-op.
        Assert.False(await store.TryAcquireLeaseAsync("ids-0", "b", minute, Ct));
        await store.ReleaseLeaseAsync("ids-0", "a", Ct);
        Assert.Null(Assert.Single(await store.ListStatesAsync(Ct), r => r.TransactionalId == "ids-0").LeaseOwner);
        Assert.True(await store.TryAcquireLeaseAsync("ids-0", "b", minute, Ct)); // Free at once after a release.
        Assert.False(await store.TryAcquireLeaseAsync("ids-0", "a", minute, Ct));
    }

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Expired_lease_goes_to_exactly_one_of_racing_instances(StoreKind kind)
    {
        using var directory = new TempDirectory("dualwrite-conformance");
        await using var database = await TestStores.OpenFreshAsync(kind, directory);
        var store = database.Store;

        // Racing for an id that has no row yet: the insert path is atomic too.
        var fresh = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(async () => await store.TryAcquireLeaseAsync("race-new", "owner-" + PoolTextOf(i), TimeSpan.FromMinutes(1), Ct))));
        Assert.Single(fresh, won => won);

        Assert.True(await store.TryAcquireLeaseAsync("race-old", "dead", TimeSpan.FromMilliseconds(300), Ct));
        Assert.False(await store.TryAcquireLeaseAsync("race-old", "early", TimeSpan.FromMinutes(1), Ct));
        await WaitUntilExpiredAsync(store, "race-old");

        var racers = Enumerable.Range(0, 8).Select(i => "racer-" + PoolTextOf(i)).ToList();
        var results = await Task.WhenAll(racers.Select(owner =>
            Task.Run(async () => await store.TryAcquireLeaseAsync("race-old", owner, TimeSpan.FromMinutes(1), Ct))));

        var winner = racers[Array.IndexOf(results, true)];
        Assert.Single(results, won => won);
        Assert.Equal(winner, Assert.Single(await store.ListStatesAsync(Ct), r => r.TransactionalId == "race-old").LeaseOwner);
    }

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Lock_state_serialises_two_writers_of_one_id(StoreKind kind)
    {
        using var directory = new TempDirectory("dualwrite-conformance");
        await using var database = await TestStores.OpenFreshAsync(kind, directory);
        var store = database.Store;
        await using (var create = await store.BeginAsync(Ct))
        {
            Assert.Equal(string.Empty, await create.LockStateAsync("locked-0", Ct));
            await create.CommitAsync(Ct);
        }

        var first = await store.BeginAsync(Ct);
        await using var firstScope = first;
        Assert.Equal(string.Empty, await first.LockStateAsync("locked-0", Ct));

        // The second writer of the same id: a blocking store parks it (in BeginAsync or LockStateAsync) until the first
        // ends; an optimistic store lets it read now and must fail its commit instead.
        var secondLocked = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = Task.Run(async () =>
        {
            await using var transaction = await store.BeginAsync(Ct);
            var seen = await transaction.LockStateAsync("locked-0", Ct);
            secondLocked.TrySetResult(seen);
            await firstDone.Task;
            await transaction.WriteTokenAsync("locked-0", "2:0", Ct);
            try
            {
                await transaction.CommitAsync(Ct);
                return (seen, committed: true);
            }
#pragma warning disable CA1031 // Any commit failure is the optimistic store's refusal; the assertions decide.
            catch (Exception)
#pragma warning restore CA1031
            {
                return (seen, committed: false);
            }
        }, Ct);

        // Give the second writer the chance to get in (it must not complete its lock if the store blocks).
        await Task.WhenAny(secondLocked.Task, Task.Delay(300, Ct));
        await first.WriteTokenAsync("locked-0", "1:0", Ct);
        bool firstCommitted;
        try
        {
            await first.CommitAsync(Ct);
            firstCommitted = true;
        }
#pragma warning disable CA1031 // An optimistic store may refuse the first writer once the second locked (lock-steal).
        catch (Exception)
#pragma warning restore CA1031
        {
            firstCommitted = false;
        }

        firstDone.SetResult();
        var (secondSaw, secondCommitted) = await second;

        // No lost update: two overlapping writers never both commit unless the second saw the first's token.
        var final = await store.ReadCommittedTokenAsync("locked-0", Ct);
        Assert.True(firstCommitted || secondCommitted, "one of the two writers must commit");
        if (firstCommitted && secondCommitted)
        {
            Assert.Equal("1:0", secondSaw); // Blocking store: it waited for the first writer.
            Assert.Equal("2:0", final);
        }
        else if (firstCommitted)
        {
            Assert.Equal(string.Empty, secondSaw); // Optimistic store: read early, commit refused.
            Assert.Equal("1:0", final);
        }
        else
        {
            Assert.Equal(string.Empty, secondSaw); // Optimistic store: the later lock invalidated the first writer.
            Assert.Equal("2:0", final);
        }
    }

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task Token_commits_with_its_transaction_and_reads_back(StoreKind kind)
    {
        using var directory = new TempDirectory("dualwrite-conformance");
        await using var database = await TestStores.OpenFreshAsync(kind, directory);
        var store = database.Store;

        Assert.Null(await store.ReadCommittedTokenAsync("token-0", Ct)); // No state row yet.
        await using (var transaction = await store.BeginAsync(Ct))
        {
            Assert.Equal(string.Empty, await transaction.LockStateAsync("token-0", Ct));
            await transaction.WriteTokenAsync("token-0", "42:7", Ct);
            await transaction.CommitAsync(Ct);
        }

        Assert.Equal("42:7", await store.ReadCommittedTokenAsync("token-0", Ct));

        await using (var rolledBack = await store.BeginAsync(Ct))
        {
            Assert.Equal("42:7", await rolledBack.LockStateAsync("token-0", Ct));
            await rolledBack.WriteTokenAsync("token-0", "43:7", Ct);
            // Disposed without commit: rolls back.
        }

        Assert.Equal("42:7", await store.ReadCommittedTokenAsync("token-0", Ct));

        // The lease never touches the token, and vice versa.
        Assert.True(await store.TryAcquireLeaseAsync("token-0", "owner", TimeSpan.FromMinutes(1), Ct));
        Assert.Equal("42:7", await store.ReadCommittedTokenAsync("token-0", Ct));
        await using (var transaction = await store.BeginAsync(Ct))
        {
            await transaction.LockStateAsync("token-0", Ct);
            await transaction.WriteTokenAsync("token-0", "44:8", Ct);
            await transaction.CommitAsync(Ct);
        }

        var row = Assert.Single(await store.ListStatesAsync(Ct), r => r.TransactionalId == "token-0");
        Assert.Equal("44:8", row.Token);
        Assert.Equal("owner", row.LeaseOwner);
    }

    [Theory]
    [MemberData(nameof(TestStores.All), MemberType = typeof(TestStores))]
    public async Task List_states_reports_every_row_with_its_token_and_lease(StoreKind kind)
    {
        using var directory = new TempDirectory("dualwrite-conformance");
        await using var database = await TestStores.OpenFreshAsync(kind, directory);
        var store = database.Store;
        Assert.Empty(await store.ListStatesAsync(Ct));

        await using (var transaction = await store.BeginAsync(Ct))
        {
            await transaction.LockStateAsync("list-0", Ct);
            await transaction.WriteTokenAsync("list-0", "5:1", Ct);
            await transaction.CommitAsync(Ct);
        }

        Assert.True(await store.TryAcquireLeaseAsync("list-1", "instance-b", TimeSpan.FromMinutes(10), Ct));
        await using (var uncommitted = await store.BeginAsync(Ct))
        {
            await uncommitted.LockStateAsync("list-2", Ct); // Rolled back: never listed.
        }

        var rows = (await store.ListStatesAsync(Ct)).OrderBy(r => r.TransactionalId, StringComparer.Ordinal).ToList();

        // An optimistic store may persist the row when locking (Redis bumps its version there); if it lists it, the row
        // must carry nothing: no token, no lease.
        if (rows.Find(r => r.TransactionalId == "list-2") is { } lockedOnly)
        {
            Assert.Equal(string.Empty, lockedOnly.Token);
            Assert.Null(lockedOnly.LeaseOwner);
            rows.Remove(lockedOnly);
        }

        Assert.Equal(["list-0", "list-1"], rows.Select(r => r.TransactionalId));
        Assert.Equal("5:1", rows[0].Token);
        Assert.Null(rows[0].LeaseOwner);
        Assert.Null(rows[0].LeaseExpiresAt);
        Assert.Equal(string.Empty, rows[1].Token);
        Assert.Equal("instance-b", rows[1].LeaseOwner);
        // Expiry is in the store's clock; on this machine it is ours, so it lies ahead by roughly the duration.
        Assert.InRange(rows[1].LeaseExpiresAt!.Value, DateTimeOffset.UtcNow.AddMinutes(5), DateTimeOffset.UtcNow.AddMinutes(15));
    }

    private static async Task WaitUntilExpiredAsync(IDualWriteStore store, string transactionalId)
    {
        // Poll the lease rather than sleep a fixed time: store clocks (PostgreSQL now(), Redis TIME) may differ slightly.
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100, Ct);
            var row = Assert.Single(await store.ListStatesAsync(Ct), r => r.TransactionalId == transactionalId);
            if (row.LeaseExpiresAt is { } expires && expires.AddMilliseconds(100) < DateTimeOffset.UtcNow)
            {
                return;
            }
        }

        Assert.Fail($"the lease of {transactionalId} did not expire");
    }

    private static string PoolTextOf(int i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
