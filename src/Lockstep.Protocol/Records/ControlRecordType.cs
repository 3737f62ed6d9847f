namespace Lockstep.Protocol.Records;

/// <summary>
/// The Type field of a control record key (ControlRecordTypeSchema.json; Kafka's <c>ControlRecordType.java</c>).
/// Values are Kafka's and must never be renumbered; types other than the two transaction markers (leader change,
/// KRaft snapshot markers) are KRaft-internal and pass through as unnamed values.
/// </summary>
public enum ControlRecordType : short
{
    /// <summary>Transaction abort marker (KIP-98).</summary>
    Abort = 0,

    /// <summary>Transaction commit marker (KIP-98).</summary>
    Commit = 1,
}
