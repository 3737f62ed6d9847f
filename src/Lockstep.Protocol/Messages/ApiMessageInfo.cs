using System;
using System.Collections.Generic;

namespace Lockstep.Protocol.Messages;

/// <summary>
/// Version facts of one Kafka API, taken from its request schema (the response schema always has the same ranges).
/// </summary>
/// <param name="ApiKey">The API key.</param>
/// <param name="Name">The API name, e.g. <c>InitProducerId</c>.</param>
/// <param name="LowestVersion">Lowest valid request version; greater than <paramref name="HighestVersion"/> for an
/// API Kafka removed (<c>validVersions: none</c>).</param>
/// <param name="HighestVersion">Highest valid request version, including an unstable one.</param>
/// <param name="FlexibleVersionsFrom">First flexible version (KIP-482), or -1.</param>
/// <param name="LatestVersionUnstable">True when <paramref name="HighestVersion"/> is unstable and must not be
/// advertised unless <c>unstable.api.versions.enable</c> is set (kip939-spec.md §6.1).</param>
/// <param name="Listeners">The listeners that serve the API (<c>broker</c>, <c>controller</c>).</param>
/// <param name="RequestType">The generated request class.</param>
/// <param name="ResponseType">The generated response class.</param>
public sealed record ApiMessageInfo(
    ApiKey ApiKey,
    string Name,
    short LowestVersion,
    short HighestVersion,
    short FlexibleVersionsFrom,
    bool LatestVersionUnstable,
    IReadOnlyList<string> Listeners,
    Type RequestType,
    Type ResponseType)
{
    /// <summary>True when <paramref name="version"/> is a valid request version.</summary>
    public bool IsValidVersion(short version) => version >= LowestVersion && version <= HighestVersion;

    /// <summary>True when <paramref name="version"/> uses the flexible encoding.</summary>
    public bool IsFlexible(short version) => FlexibleVersionsFrom >= 0 && version >= FlexibleVersionsFrom;
}
