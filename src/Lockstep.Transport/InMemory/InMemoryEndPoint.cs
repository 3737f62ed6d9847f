using System;
using System.Net;
using System.Net.Sockets;

namespace Lockstep.Transport.InMemory;

/// <summary>
/// A named address on an <see cref="InMemoryNetwork"/>, e.g. <c>new InMemoryEndPoint("broker-0")</c>.
/// </summary>
/// <param name="name">The address; endpoints with equal names (ordinal) are equal.</param>
public sealed class InMemoryEndPoint(string name) : EndPoint, IEquatable<InMemoryEndPoint>
{
    /// <summary>The address.</summary>
    public string Name { get; } = !string.IsNullOrEmpty(name)
        ? name
        : throw new ArgumentException("An in-memory endpoint needs a name.", nameof(name));

    /// <summary>Always <see cref="AddressFamily.Unspecified"/>: this address belongs to no socket family.</summary>
    public override AddressFamily AddressFamily => AddressFamily.Unspecified;

    /// <inheritdoc />
    public bool Equals(InMemoryEndPoint? other) =>
        other is not null && string.Equals(Name, other.Name, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as InMemoryEndPoint);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    /// <summary>Returns <c>inmemory:</c> followed by the name, for logs.</summary>
    public override string ToString() => "inmemory:" + Name;
}
