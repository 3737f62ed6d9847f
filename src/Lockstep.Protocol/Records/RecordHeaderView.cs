using System;
using System.Text;

namespace Lockstep.Protocol.Records;

/// <summary>A record header read in place: spans over the batch (or its decompressed records).</summary>
public readonly ref struct RecordHeaderView
{
    internal RecordHeaderView(ReadOnlySpan<byte> keyUtf8, ReadOnlySpan<byte> value, bool valueIsNull)
    {
        KeyUtf8 = keyUtf8;
        Value = value;
        ValueIsNull = valueIsNull;
    }

    /// <summary>The header key as UTF-8 bytes, not decoded.</summary>
    public ReadOnlySpan<byte> KeyUtf8 { get; }

    /// <summary>The header value; empty when <see cref="ValueIsNull"/>.</summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>True when the value's wire length was -1.</summary>
    public bool ValueIsNull { get; }

    /// <summary>Decodes the key (allocates a string). Invalid UTF-8 becomes U+FFFD, as in Java's decoder.</summary>
    public string Key => Encoding.UTF8.GetString(KeyUtf8);

    /// <summary>Copies the header out as a <see cref="RecordHeader"/>.</summary>
    public RecordHeader ToHeader() => new(Key, ValueIsNull ? null : Value.ToArray());
}
