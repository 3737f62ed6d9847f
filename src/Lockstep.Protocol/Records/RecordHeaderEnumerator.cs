using System;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Records;

/// <summary>
/// Enumerates a record's headers in place (usable in <c>foreach</c>). The header section was fully validated
/// when the record was read, so enumeration itself never fails.
/// </summary>
public ref struct RecordHeaderEnumerator
{
    private KafkaReader _reader;
    private int _remaining;
    private RecordHeaderView _current;

    internal RecordHeaderEnumerator(ReadOnlySpan<byte> headers, int count)
    {
        _reader = new KafkaReader(headers);
        _remaining = count;
        _current = default;
    }

    /// <summary>The header at the current position.</summary>
    public readonly RecordHeaderView Current => _current;

    /// <summary>Returns this enumerator, so that <c>foreach</c> works over <see cref="RecordView.Headers"/>.</summary>
    public readonly RecordHeaderEnumerator GetEnumerator() => this;

    /// <summary>Advances to the next header.</summary>
    public bool MoveNext()
    {
        if (_remaining == 0)
        {
            return false;
        }

        _remaining--;
        var keyLength = _reader.ReadVarInt();
        var key = _reader.ReadRawSpan(keyLength);
        var valueLength = _reader.ReadVarInt();
        _current = valueLength < 0
            ? new RecordHeaderView(key, default, valueIsNull: true)
            : new RecordHeaderView(key, _reader.ReadRawSpan(valueLength), valueIsNull: false);
        return true;
    }
}
