using Lockstep.Protocol;

namespace Lockstep.Broker.Admin;

/// <summary>An error code with its message, as admin results carry them.</summary>
/// <param name="Code">The error.</param>
/// <param name="Message">Human-readable detail, or null.</param>
internal readonly record struct AdminError(ErrorCode Code, string? Message)
{
    /// <summary>No error.</summary>
    public static AdminError None => new(ErrorCode.None, null);

    /// <summary>True when this is an error.</summary>
    public bool IsError => Code != ErrorCode.None;
}
