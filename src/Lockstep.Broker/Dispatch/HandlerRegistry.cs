using System;
using System.Collections.Frozen;
using System.Collections.Generic;
using System.Linq;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Dispatch;

/// <summary>
/// The broker's API surface: one <see cref="IApiHandler"/> per key. ApiVersions is derived from it, so what is
/// advertised is exactly what is implemented (client-compat.md: "advertised ranges = contract").
/// </summary>
/// <remarks>Immutable after construction; read concurrently by every session.</remarks>
internal sealed class HandlerRegistry
{
    private readonly FrozenDictionary<ApiKey, IApiHandler> _handlers;

    /// <summary>Builds the registry; two handlers for one key, or a range outside the schema, is a bug.</summary>
    public HandlerRegistry(IEnumerable<IApiHandler> handlers)
    {
        var map = new Dictionary<ApiKey, IApiHandler>();
        foreach (var handler in handlers)
        {
            if (!map.TryAdd(handler.ApiKey, handler))
            {
                throw new InvalidOperationException($"Two handlers registered for {handler.ApiKey}.");
            }

            // Never advertise beyond what the generated codec can encode (style-guide.md §3.3 coverage rule).
            if (!ApiMessages.TryGet(handler.ApiKey, out var info)
                || handler.MinVersion < info.LowestVersion
                || handler.MaxVersion > info.HighestVersion
                || handler.MinVersion > handler.MaxVersion)
            {
                throw new InvalidOperationException(
                    $"{handler.GetType().Name} advertises {handler.ApiKey} v{handler.MinVersion}-{handler.MaxVersion}, " +
                    "outside the versions the protocol library supports.");
            }
        }

        _handlers = map.ToFrozenDictionary();
    }

    /// <summary>All handlers, ordered by API key.</summary>
    public IEnumerable<IApiHandler> Handlers => _handlers.Values.OrderBy(h => h.ApiKey);

    /// <summary>Finds the handler of <paramref name="apiKey"/>.</summary>
    public bool TryGet(ApiKey apiKey, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IApiHandler? handler) =>
        _handlers.TryGetValue(apiKey, out handler);

    /// <summary>True when <paramref name="apiKey"/> is served at <paramref name="version"/>.</summary>
    public bool IsSupported(ApiKey apiKey, short version) =>
        _handlers.TryGetValue(apiKey, out var h) && version >= h.MinVersion && version <= h.MaxVersion;
}
