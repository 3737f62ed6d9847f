using System.Collections.Generic;
using System.Linq;

namespace Lockstep.Protocol.Messages;

/// <summary>
/// The table of Kafka APIs (generated part: <see cref="All"/>) and the header-version rules that depend on it.
/// </summary>
public static partial class ApiMessages
{
    /// <summary>Looks up an API; false for a key this build does not know.</summary>
    public static bool TryGet(ApiKey apiKey, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ApiMessageInfo? info) =>
        Index.ByKey.TryGetValue(apiKey, out info);

    /// <summary>
    /// The request header version for <paramref name="apiKey"/> at <paramref name="apiVersion"/>: 2 in flexible
    /// versions, else 1, and 0 for ControlledShutdown v0 (the only user of header v0;
    /// <c>ApiMessageType.requestHeaderVersion</c> in Kafka's generator output).
    /// </summary>
    public static short RequestHeaderVersion(ApiKey apiKey, short apiVersion)
    {
        if (apiKey == ApiKey.ControlledShutdown && apiVersion == 0)
        {
            return 0;
        }

        return TryGet(apiKey, out var info) && info.IsFlexible(apiVersion) ? (short)2 : (short)1;
    }

    /// <summary>
    /// The response header version for <paramref name="apiKey"/> at <paramref name="apiVersion"/>: 1 in flexible
    /// versions, else 0. ApiVersions responses always use header v0, because a client that sent a version the broker
    /// does not know must still be able to parse the error response (KIP-511).
    /// </summary>
    public static short ResponseHeaderVersion(ApiKey apiKey, short apiVersion)
    {
        if (apiKey == ApiKey.ApiVersions)
        {
            return 0;
        }

        return TryGet(apiKey, out var info) && info.IsFlexible(apiVersion) ? (short)1 : (short)0;
    }

    // A nested holder, because the order of static initializers across the parts of a partial class is undefined.
    private static class Index
    {
        internal static readonly Dictionary<ApiKey, ApiMessageInfo> ByKey = All.ToDictionary(a => a.ApiKey);
    }
}
