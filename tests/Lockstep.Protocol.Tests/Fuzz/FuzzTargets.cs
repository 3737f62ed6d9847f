using System.Buffers.Binary;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Decoder fuzz targets in Garnet's shape (style-guide.md §3.6): each nested class exposes
/// <c>public static void Fuzz(ReadOnlySpan&lt;byte&gt; input)</c>, which decodes its input the way
/// a broker or client would and may throw only <see cref="KafkaProtocolException"/>. Any other exception, an
/// allocation out of proportion to the input, or a hang is a decoder bug. The same methods can be driven by
/// SharpFuzz/libFuzzer or replayed over a corpus; here they are driven by seeded mutation (see the *FuzzTests).
/// </summary>
public static class FuzzTargets
{
    /// <summary>
    /// Decompression limit of <see cref="Codecs"/>. Honest seeds decompress to far less; a bomb is cut off here, so
    /// the allocation bound of a compressed batch is the input-proportional bound plus a multiple of this.
    /// </summary>
    public const int DecompressionLimit = 64 * 1024;

    /// <summary>All four codecs with the fuzzing decompression limit.</summary>
    public static CompressionCodecRegistry Codecs { get; } = KafkaCompression.CreateRegistry(DecompressionLimit);

    /// <summary>
    /// A request frame as a broker receives it: INT32 size, request header (v0-v2 by API key and version), body
    /// of the API and version named in the header, nothing after it. Produce record batches are then read too,
    /// as the broker's produce path does before appending.
    /// </summary>
    public static class RequestFrame
    {
        /// <summary>Decodes one request frame.</summary>
        public static void Fuzz(ReadOnlySpan<byte> input) => Decode(input);

        /// <summary>Decodes one request frame and returns its header and body.</summary>
        public static (RequestHeader Header, object Body) Decode(ReadOnlySpan<byte> input)
        {
            var reader = new KafkaReader(input);
            var size = reader.ReadInt32();
            if (size != reader.Remaining)
            {
                ThrowHelper.ThrowProtocol($"Frame size {size} does not match the {reader.Remaining} byte(s) that follow.");
            }

            if (reader.Remaining < 4)
            {
                ThrowHelper.ThrowTruncated(4, reader.Position, reader.Remaining);
            }

            // The header version depends on the API key and version at the start of the header (KIP-482).
            var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(reader.UnreadSpan);
            var version = BinaryPrimitives.ReadInt16BigEndian(reader.UnreadSpan[2..]);
            var header = RequestHeader.Read(ref reader, ApiMessages.RequestHeaderVersion(apiKey, version));
            if (!MessageDecoders.TryGetApi(apiKey, out var info, out var request, out _) || !info!.IsValidVersion(version))
            {
                ThrowHelper.ThrowUnsupportedVersion($"API key {(short)apiKey}", version);
            }

            var body = request!(ref reader, version);
            reader.ExpectEnd(info.RequestType.Name);
            if (body is ProduceRequest produce)
            {
                ReadProduceRecords(produce);
            }

            return (header, body);
        }

        private static void ReadProduceRecords(ProduceRequest produce)
        {
            foreach (var topic in produce.TopicData)
            {
                foreach (var partition in topic.PartitionData)
                {
                    if (partition.Records is { } records)
                    {
                        RecordBatches.Fuzz(records.Span);
                    }
                }
            }
        }
    }

    /// <summary>
    /// A response as a client sees it: INT16 API key and INT16 API version (what the client remembers about the
    /// in-flight request with that correlation id), then the frame: INT32 size, response header (v0/v1), body.
    /// </summary>
    public static class ResponseFrame
    {
        /// <summary>Bytes of the API key and version prefix that precede the frame.</summary>
        public const int PrefixSize = 4;

        /// <summary>Decodes one response frame.</summary>
        public static void Fuzz(ReadOnlySpan<byte> input)
        {
            if (input.Length < PrefixSize)
            {
                ThrowHelper.ThrowTruncated(PrefixSize, 0, input.Length);
            }

            var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(input);
            var version = BinaryPrimitives.ReadInt16BigEndian(input[2..]);
            Decode(apiKey, version, input[PrefixSize..]);
        }

        /// <summary>Decodes the response frame of <paramref name="apiKey"/> at <paramref name="version"/>.</summary>
        public static (ResponseHeader Header, object Body) Decode(ApiKey apiKey, short version, ReadOnlySpan<byte> frame)
        {
            if (!MessageDecoders.TryGetApi(apiKey, out var info, out _, out var response) || !info!.IsValidVersion(version))
            {
                ThrowHelper.ThrowUnsupportedVersion($"API key {(short)apiKey}", version);
            }

            var reader = new KafkaReader(frame);
            var size = reader.ReadInt32();
            if (size != reader.Remaining)
            {
                ThrowHelper.ThrowProtocol($"Frame size {size} does not match the {reader.Remaining} byte(s) that follow.");
            }

            var header = ResponseHeader.Read(ref reader, ApiMessages.ResponseHeaderVersion(apiKey, version));
            var body = response!(ref reader, version);
            reader.ExpectEnd(info.ResponseType.Name);
            return (header, body);
        }
    }

    /// <summary>
    /// A RECORDS field: magic-2 batches end to end, each CRC-checked, decompressed with every codec under
    /// <see cref="DecompressionLimit"/>, its records and headers walked without copying, control markers parsed,
    /// and then all of it materialised again through <see cref="RecordBatch.ReadAll"/>.
    /// </summary>
    public static class RecordBatches
    {
        /// <summary>Decodes every batch in <paramref name="input"/>.</summary>
        public static void Fuzz(ReadOnlySpan<byte> input)
        {
            var rest = input;
            while (!rest.IsEmpty)
            {
                var size = RecordBatchReader.PeekTotalSize(rest);
                if (size < 0 || size > rest.Length)
                {
                    ThrowHelper.ThrowTruncated(size < 0 ? RecordBatchHeader.LogOverhead : size, input.Length - rest.Length, rest.Length);
                }

                var batch = rest[..size];
                WalkBatch(batch);
                rest = rest[size..];
            }

            RecordBatch.ReadAll(input, Codecs);
        }

        private static void WalkBatch(ReadOnlySpan<byte> batch)
        {
            bool isControl;
            using (var reader = RecordBatchReader.Create(batch, Codecs))
            {
                isControl = reader.Header.IsControl;
                while (reader.TryReadNext(out var record))
                {
                    foreach (var header in record.Headers)
                    {
                        _ = header.Key;
                        _ = header.Value.Length;
                    }
                }
            }

            if (isControl)
            {
                ControlBatch.ReadMarker(batch, out _);
            }
        }
    }

    /// <summary>
    /// The varint family as an op stream: each op byte (low two bits) selects UNSIGNED_VARINT, VARINT, VARLONG or
    /// unsigned varlong, read from the bytes that follow, until the input ends.
    /// </summary>
    public static class VarInts
    {
        /// <summary>Reads varints until the input is consumed.</summary>
        public static void Fuzz(ReadOnlySpan<byte> input)
        {
            var reader = new KafkaReader(input);
            while (!reader.End)
            {
                switch (reader.ReadInt8() & 3)
                {
                    case 0: _ = reader.ReadUnsignedVarInt(); break;
                    case 1: _ = reader.ReadVarInt(); break;
                    case 2: _ = reader.ReadVarLong(); break;
                    default: _ = reader.ReadUnsignedVarLong(); break;
                }
            }
        }
    }

    /// <summary>
    /// The length-prefixed readers as an op stream: compact and classic strings, bytes and array counts, RECORDS,
    /// and tagged-field sections, selected by an op byte each, until the input ends.
    /// </summary>
    public static class LengthPrefixed
    {
        /// <summary>Reads length-prefixed values until the input is consumed.</summary>
        public static void Fuzz(ReadOnlySpan<byte> input)
        {
            var reader = new KafkaReader(input);
            List<TaggedField>? unknown = null;
            while (!reader.End)
            {
                var op = reader.ReadInt8() & 15;
                switch (op)
                {
                    case 0: _ = reader.ReadCompactString(); break;
                    case 1: _ = reader.ReadCompactNullableString(); break;
                    case 2: _ = reader.ReadCompactBytes(); break;
                    case 3: _ = reader.ReadCompactNullableBytes(); break;
                    case 4: _ = reader.ReadCompactArrayLength(); break;
                    case 5: _ = reader.ReadCompactArrayLength(minElementSize: 8); break;
                    case 6: _ = reader.ReadRecords(compact: true); break;
                    case 7: reader.ReadUnknownTaggedFields(ref unknown); break;
                    case 8: _ = reader.ReadString(); break;
                    case 9: _ = reader.ReadNullableString(); break;
                    case 10: _ = reader.ReadBytes(); break;
                    case 11: _ = reader.ReadNullableBytes(); break;
                    case 12: _ = reader.ReadArrayLength(); break;
                    case 13: _ = reader.ReadArrayLength(minElementSize: 8); break;
                    case 14: _ = reader.ReadRecords(compact: false); break;
                    default:
                        var count = reader.ReadTaggedFieldCount();
                        var lastTag = -1;
                        for (var i = 0; i < count; i++)
                        {
                            var tag = reader.ReadTaggedFieldHeader(ref lastTag, out var size);
                            reader.ReadUnknownTaggedField(tag, size, ref unknown);
                        }

                        break;
                }
            }
        }
    }
}
