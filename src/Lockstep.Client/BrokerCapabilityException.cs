using System;
using Lockstep.Protocol;

namespace Lockstep.Client;

/// <summary>
/// The broker lacks an API version or feature the requested operation needs (for example KIP-939 two-phase commit:
/// InitProducerId v6). Raised before anything is sent rather than silently downgrading. Fatal for the operation;
/// <see cref="MissingCapability"/> names what the broker must offer.
/// </summary>
public sealed class BrokerCapabilityException : KafkaFatalException
{
    /// <summary>Creates the error.</summary>
    /// <param name="missingCapability">What the broker does not offer, e.g. "InitProducerId v6".</param>
    /// <param name="message">The full explanation including how to enable it.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public BrokerCapabilityException(string missingCapability, string message, Exception? innerException = null)
        : base(ErrorCode.UnsupportedVersion, message, innerException)
    {
        MissingCapability = missingCapability;
    }

    /// <summary>The missing broker capability, e.g. <c>InitProducerId v6</c>.</summary>
    public string MissingCapability { get; }
}
