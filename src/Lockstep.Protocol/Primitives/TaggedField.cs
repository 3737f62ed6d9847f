using System;

namespace Lockstep.Protocol.Primitives;

/// <summary>
/// A tagged field (KIP-482) that this version of Lockstep does not know. It is kept verbatim so that a message
/// decoded and re-encoded is byte-identical, as Kafka's generated code preserves unknown tagged fields.
/// </summary>
/// <param name="Tag">The field's tag number.</param>
/// <param name="Data">The field's raw bytes, without the tag and size prefix.</param>
public readonly record struct TaggedField(int Tag, ReadOnlyMemory<byte> Data);
