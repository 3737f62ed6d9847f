namespace Lockstep.Protocol.Records;

/// <summary>
/// A materialised record header (KIP-82): a UTF-8 string key and a nullable byte value. Kafka allows repeated
/// keys and keeps their order, so headers are a list, not a dictionary.
/// </summary>
/// <param name="Key">The header key; never null on the wire (a negative key length is rejected).</param>
/// <param name="Value">The header value; null is encoded as length -1.</param>
public readonly record struct RecordHeader(string Key, byte[]? Value);
