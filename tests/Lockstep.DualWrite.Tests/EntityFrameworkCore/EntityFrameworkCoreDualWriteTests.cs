using System.Data.Common;
using Lockstep.DualWrite.EntityFrameworkCore;
using Lockstep.DualWrite.Tests.PostgreSql;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Lockstep.DualWrite.Tests.EntityFrameworkCore;

/// <summary>
/// The EF Core integration (issue 6 item 3): a DbContext's SaveChanges and the produced events are one unit on each
/// relational store — SQLite (Microsoft.EntityFrameworkCore.Sqlite) and PostgreSQL (Npgsql.EntityFrameworkCore.
/// PostgreSQL). Method: the demo's orders table mapped as an entity, units run through
/// <see cref="DualWriteEntityFrameworkCoreExtensions"/>, then committed rows are compared with what a read_committed
/// consumer sees.
/// </summary>
public sealed class EntityFrameworkCoreDualWriteTests
{
    public static TheoryData<StoreKind> RelationalStores => [StoreKind.Sqlite, StoreKind.PostgreSql];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(RelationalStores))]
    public async Task SaveChanges_and_produced_events_commit_together(StoreKind kind)
    {
        await using var world = await StoreTestWorld.StartAsync(kind);
        await using var writer = world.CreateWriter("ef-commit");

        var saved = await writer.ExecuteWithDbContextAsync(CreateShop, async (db, unit, ct) =>
        {
            db.Orders.Add(new Order { OrderId = 1, AmountCents = 250, PlacedBy = unit.TransactionalId });
            db.Orders.Add(new Order { OrderId = 2, AmountCents = 300, PlacedBy = unit.TransactionalId });
            var count = await db.SaveChangesAsync(ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(unit, 1, ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(unit, 2, ct);
            return count;
        }, Ct);
        Assert.Equal(2, saved);

        // A second unit through the lower-level API: the DbContext is built and enlisted explicitly.
        await writer.ExecuteAsync(async (unit, ct) =>
        {
            await using var db = await unit.UseDbContextAsync(CreateShop, ct);
            db.Orders.Add(new Order { OrderId = 3, AmountCents = 10, PlacedBy = unit.TransactionalId });
            await db.SaveChangesAsync(ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(unit, 3, ct);
        }, Ct);

        await world.AssertRowsEqualEventsAsync(1, 2, 3);
    }

    [Theory]
    [MemberData(nameof(RelationalStores))]
    public async Task A_pool_runs_DbContext_units_on_its_ids_with_the_same_guarantee(StoreKind kind)
    {
        await using var world = await StoreTestWorld.StartAsync(kind);
        await using var pool = new DualWriterPool(world.Database.Store, 2, "ef-pool", options =>
        {
            options.BootstrapServers = world.Broker.BootstrapServers;
            options.ConfigureProducer = producer => producer.Linger = TimeSpan.Zero;
        });

        // Four concurrent units over two ids: each SaveChanges joins its own unit's transaction.
        await Task.WhenAll(Enumerable.Range(1, 4).Select(id => pool.ExecuteWithDbContextAsync(CreateShop, async (db, unit, ct) =>
        {
            db.Orders.Add(new Order { OrderId = id, AmountCents = 100 * id, PlacedBy = unit.TransactionalId });
            await db.SaveChangesAsync(ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(unit, id, ct);
            return id;
        }, Ct)));

        // A unit whose work throws after SaveChanges leaves neither its row nor its event.
        await Assert.ThrowsAsync<InvalidDataException>(() => pool.ExecuteWithDbContextAsync<ShopContext, int>(CreateShop, async (db, unit, ct) =>
        {
            db.Orders.Add(new Order { OrderId = 5, AmountCents = 1, PlacedBy = unit.TransactionalId });
            await db.SaveChangesAsync(ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(unit, 5, ct);
            throw new InvalidDataException("rejected after SaveChanges");
        }, Ct));

        await world.AssertRowsEqualEventsAsync(1, 2, 3, 4);
    }

    [Theory]
    [MemberData(nameof(RelationalStores))]
    public async Task A_unit_that_throws_after_SaveChanges_commits_neither_rows_nor_events(StoreKind kind)
    {
        await using var world = await StoreTestWorld.StartAsync(kind);
        await using var writer = world.CreateWriter("ef-throw");
        await writer.ExecuteWithDbContextAsync(CreateShop, async (db, unit, ct) =>
        {
            db.Orders.Add(new Order { OrderId = 1, AmountCents = 1, PlacedBy = unit.TransactionalId });
            await db.SaveChangesAsync(ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(unit, 1, ct);
        }, Ct);

        var thrown = await Assert.ThrowsAsync<InvalidDataException>(() => writer.ExecuteWithDbContextAsync(CreateShop,
            async (db, unit, ct) =>
            {
                db.Orders.Add(new Order { OrderId = 2, AmountCents = 2, PlacedBy = unit.TransactionalId });
                Assert.Equal(1, await db.SaveChangesAsync(ct)); // the row reached the database, uncommitted
                await StoreTestWorld.ProduceOrderPlacedAsync(unit, 2, ct);
                throw new InvalidDataException("payment declined");
            }, Ct));
        Assert.Equal("payment declined", thrown.Message);

        // The writer carries on; only units 1 and 3 exist in either system.
        await writer.ExecuteWithDbContextAsync(CreateShop, async (db, unit, ct) =>
        {
            db.Orders.Add(new Order { OrderId = 3, AmountCents = 3, PlacedBy = unit.TransactionalId });
            await db.SaveChangesAsync(ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(unit, 3, ct);
        }, Ct);
        await world.AssertRowsEqualEventsAsync(1, 3);
    }

    [Theory]
    [MemberData(nameof(RelationalStores))]
    public async Task Guard_stops_a_DbContext_from_committing_the_units_transaction(StoreKind kind)
    {
        await using var world = await StoreTestWorld.StartAsync(kind);
        await using var writer = world.CreateWriter("ef-guard");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => writer.ExecuteWithDbContextAsync(
            connection => CreateShop(connection, guard: true),
            async (db, unit, ct) =>
            {
                db.Orders.Add(new Order { OrderId = 1, AmountCents = 1, PlacedBy = unit.TransactionalId });
                await db.SaveChangesAsync(ct);
                await StoreTestWorld.ProduceOrderPlacedAsync(unit, 1, ct);
                await db.Database.CommitTransactionAsync(ct); // what a DbContext must never do inside a unit
            }, Ct));
        Assert.Contains("dual-write unit", error.Message, StringComparison.Ordinal);
        await world.AssertRowsEqualEventsAsync();
    }

    [Theory]
    [MemberData(nameof(RelationalStores))]
    public async Task An_application_DbContext_factory_is_re_pointed_at_the_units_connection(StoreKind kind)
    {
        await using var world = await StoreTestWorld.StartAsync(kind);
        await using var writer = world.CreateWriter("ef-factory");
        // The factory's own connection string names a database that does not exist: only the unit's connection is used.
        var factory = new ShopContextFactory(kind);
        await writer.ExecuteAsync(async (unit, ct) =>
        {
            await using var db = await unit.UseDbContextAsync(factory, ct);
            Assert.Same(unit.Connection, db.Database.GetDbConnection());
            db.Orders.Add(new Order { OrderId = 5, AmountCents = 1, PlacedBy = unit.TransactionalId });
            await db.SaveChangesAsync(ct);
            await StoreTestWorld.ProduceOrderPlacedAsync(unit, 5, ct);
        }, Ct);
        await world.AssertRowsEqualEventsAsync(5);
    }

    [Fact]
    public async Task Without_the_guard_a_DbContext_commit_is_reported_not_hidden()
    {
        await using var world = await StoreTestWorld.StartAsync(StoreKind.Sqlite);
        await using var writer = world.CreateWriter("ef-unguarded");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => writer.ExecuteWithDbContextAsync(CreateShop,
            async (db, unit, ct) =>
            {
                db.Orders.Add(new Order { OrderId = 1, AmountCents = 1, PlacedBy = unit.TransactionalId });
                await db.SaveChangesAsync(ct);
                await StoreTestWorld.ProduceOrderPlacedAsync(unit, 1, ct);
                await db.Database.CommitTransactionAsync(ct);
            }, Ct));
        // The row is committed without its event: exactly the damage the message names.
        Assert.Contains("WITHOUT their events", error.Message, StringComparison.Ordinal);
        Assert.Equal([1], await world.ReadRowsAsync());
        Assert.Empty(await world.ReadCommittedEventsAsync());
    }

    private static ShopContext CreateShop(DbConnection connection) => CreateShop(connection, guard: false);

    private static ShopContext CreateShop(DbConnection connection, bool guard)
    {
        var options = new DbContextOptionsBuilder<ShopContext>();
        _ = connection switch
        {
            SqliteConnection sqlite => options.UseSqlite(sqlite),
            NpgsqlConnection npgsql => options.UseNpgsql(npgsql),
            _ => throw new NotSupportedException(connection.GetType().Name),
        };
        if (guard)
        {
            options.AddDualWriteGuard();
        }

        return new ShopContext(options.Options);
    }

    private sealed class ShopContextFactory(StoreKind kind) : IDbContextFactory<ShopContext>
    {
        public ShopContext CreateDbContext()
        {
            var options = new DbContextOptionsBuilder<ShopContext>();
            _ = kind == StoreKind.Sqlite
                ? options.UseSqlite("Data Source=/nonexistent/dir/never-opened.db")
                : options.UseNpgsql("Host=never-resolved.invalid;Database=never");
            return new ShopContext(options.Options);
        }
    }

    public sealed class Order
    {
        public int OrderId { get; set; }

        public int AmountCents { get; set; }

        public string PlacedBy { get; set; } = string.Empty;
    }

    /// <summary>The demo's orders table (IOrderDatabase schema) as an EF Core model; unqualified, so PostgreSQL finds
    /// it through the test schema's search path.</summary>
    public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
    {
        public DbSet<Order> Orders => Set<Order>();

        protected override void OnModelCreating(ModelBuilder modelBuilder) =>
            modelBuilder.Entity<Order>(order =>
            {
                order.ToTable("orders");
                order.HasKey(o => o.OrderId);
                order.Property(o => o.OrderId).HasColumnName("order_id").ValueGeneratedNever();
                order.Property(o => o.AmountCents).HasColumnName("amount_cents");
                order.Property(o => o.PlacedBy).HasColumnName("placed_by");
            });
    }
}
