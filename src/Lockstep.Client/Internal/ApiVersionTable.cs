using System.Collections.Generic;
using Lockstep.Protocol.Messages;

namespace Lockstep.Client.Internal;

/// <summary>
/// What one broker advertised in ApiVersions: per-API version ranges and finalized features. Immutable.
/// </summary>
internal sealed class ApiVersionTable
{
    private readonly Dictionary<ApiKey, (short Min, short Max)> _ranges;

    public ApiVersionTable(ApiVersionsResponse response)
    {
        _ranges = new Dictionary<ApiKey, (short, short)>(response.ApiKeys.Count);
        foreach (var key in response.ApiKeys)
        {
            _ranges[(ApiKey)key.ApiKey] = (key.MinVersion, key.MaxVersion);
        }

        // KIP-890: TV2 is on iff the broker *finalized* transaction.version >= 2 (not merely supports it). Kafka
        // omits a finalized feature at level 0, so absence means 0.
        foreach (var feature in response.FinalizedFeatures)
        {
            if (feature.Name == "transaction.version")
            {
                TransactionVersion = feature.MaxVersionLevel;
            }
        }
    }

    /// <summary>Finalized <c>transaction.version</c> (0 when absent or ApiVersions &lt; v3).</summary>
    public short TransactionVersion { get; }

    public bool TryGetRange(ApiKey apiKey, out short min, out short max)
    {
        if (_ranges.TryGetValue(apiKey, out var range))
        {
            (min, max) = range;
            return true;
        }

        min = max = -1;
        return false;
    }

    /// <summary>The broker's highest version of <paramref name="apiKey"/>, or -1 when it does not serve it.</summary>
    public short MaxVersion(ApiKey apiKey) => TryGetRange(apiKey, out _, out var max) ? max : (short)-1;

    /// <summary>
    /// The highest version both sides support: the broker's advertised range intersected with
    /// [<paramref name="clientMin"/>, <paramref name="clientMax"/>]. Never a version the broker did not advertise.
    /// </summary>
    /// <returns>The version, or -1 when the ranges do not overlap.</returns>
    public short Negotiate(ApiKey apiKey, short clientMin, short clientMax)
    {
        if (!TryGetRange(apiKey, out var brokerMin, out var brokerMax))
        {
            return -1;
        }

        var max = System.Math.Min(brokerMax, clientMax);
        var min = System.Math.Max(brokerMin, clientMin);
        return max >= min ? max : (short)-1;
    }
}
