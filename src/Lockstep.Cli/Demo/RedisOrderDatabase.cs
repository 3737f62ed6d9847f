using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.DualWrite;
using Lockstep.DualWrite.Redis;
using StackExchange.Redis;

namespace Lockstep.Cli.Demo;

/// <summary>
/// The demo's orders in Redis beside <see cref="RedisDualWriteStore"/>'s state hashes, all under one key prefix: a hash
/// <c>{prefix}order:{id}</c> (amount_cents, placed_by) per order and a set <c>{prefix}orders</c> of order ids, both
/// written in the unit's <c>MULTI</c>/<c>EXEC</c> together with the prepared token.
/// </summary>
/// <remarks>Spec: <c>redis://[user:password@]host:port[/keyPrefix]</c>, or <c>rediss://…</c> for TLS. The key prefix is
/// the namespace <see cref="OrderDatabases.Isolate"/> swaps for a fresh one.</remarks>
internal sealed class RedisOrderDatabase : IOrderDatabase
{
    private readonly RedisDualWriteStore _store;
    private readonly string _endpoint;
    private readonly string _prefix;

    private RedisOrderDatabase(string spec, ConfigurationOptions configuration, string endpoint, string prefix)
    {
        WorkerSpec = spec;
        _endpoint = endpoint;
        _prefix = prefix;
        _store = new RedisDualWriteStore(configuration, new RedisDualWriteStoreOptions { KeyPrefix = prefix });
    }

    public string Description => string.IsNullOrEmpty(_prefix)
        ? "Redis " + _endpoint
        : $"Redis {_endpoint} (key prefix '{_prefix}')";

    public string WorkerSpec { get; }

    public IDualWriteStore Store => _store;

    /// <summary>Parses <paramref name="spec"/>; nothing is contacted until first use.</summary>
    /// <param name="spec">A <c>redis://</c> or <c>rediss://</c> URI.</param>
    /// <returns>The database.</returns>
    /// <exception cref="ArgumentException">The spec is not a valid Redis URI.</exception>
    public static RedisOrderDatabase Open(string spec)
    {
        var (uri, prefix) = Parse(spec);
        var configuration = new ConfigurationOptions
        {
            Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase),
            AbortOnConnectFail = false,
        };
        var port = uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port;
        configuration.EndPoints.Add(uri.Host, port);
        if (uri.UserInfo.Length != 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            configuration.User = user.Length == 0 ? null : user;
            configuration.Password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        return new RedisOrderDatabase(spec, configuration, string.Create(CultureInfo.InvariantCulture, $"{uri.Host}:{port}"), prefix);
    }

    /// <summary>The same server with the key prefix <c>lockstep-{runId}:</c> instead of the spec's own.</summary>
    /// <param name="spec">A <c>redis://</c> or <c>rediss://</c> URI.</param>
    /// <param name="runId">Letters, digits and '_' only.</param>
    /// <returns>The spec of the fresh namespace.</returns>
    public static string Isolate(string spec, string runId)
    {
        var (uri, _) = Parse(spec);
        return uri.GetLeftPart(UriPartial.Authority) + "/lockstep-" + runId + ":";
    }

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        // Redis has no schema; a PING makes an unreachable server fail here, before any unit of work.
        var database = await _store.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        await database.PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task InsertOrderAsync(DualWriteContext context, int orderId, int amountCents, CancellationToken cancellationToken)
    {
        var redis = context.Redis();
        var orderKey = redis.Key("order:" + orderId.ToString(CultureInfo.InvariantCulture));
        // The SQL stores' PRIMARY KEY: an order id written twice fails the unit instead of silently overwriting.
        redis.Transaction.AddCondition(Condition.KeyNotExists(orderKey));
        // Queued, not sent: these tasks complete at the commit, so they are deliberately not awaited here.
        _ = redis.Transaction.HashSetAsync(orderKey,
            [new HashEntry("amount_cents", amountCents), new HashEntry("placed_by", context.TransactionalId)]);
        _ = redis.Transaction.SetAddAsync(redis.Key("orders"), orderId);
        return Task.CompletedTask;
    }

    public async Task<IReadOnlySet<int>> ReadOrderIdsAsync(CancellationToken cancellationToken)
    {
        var database = await _store.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        var members = await database.SetMembersAsync(_prefix + "orders").WaitAsync(cancellationToken).ConfigureAwait(false);
        var ids = new HashSet<int>(members.Length);
        foreach (var member in members)
        {
            ids.Add((int)member);
        }

        return ids;
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    private static (Uri Uri, string Prefix) Parse(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        if (!Uri.TryCreate(spec, UriKind.Absolute, out var uri)
            || !(uri.Scheme.Equals("redis", StringComparison.OrdinalIgnoreCase) || uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase))
            || uri.Host.Length == 0)
        {
            throw new ArgumentException($"--db: '{spec}' is not a Redis URI (redis://HOST:PORT[/keyPrefix]).", nameof(spec));
        }

        // Everything after the first '/' of the path, verbatim (a prefix may contain ':' or '{tag}').
        var path = Uri.UnescapeDataString(uri.AbsolutePath);
        return (uri, path.Length > 1 ? path[1..] : string.Empty);
    }
}
