using System.Buffers.Binary;
using System.Collections;
using System.Reflection;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Valid seed encodings of every generated message: a default-constructed instance, and one where every field
/// present in the version holds a non-default value and every list holds two populated elements (built by
/// reflection from <see cref="MessageMetadata"/>, so no schema is read at test time). Record fields carry a real
/// uncompressed batch so that produce and fetch seeds reach the record decoder.
/// </summary>
internal static class MessageSamples
{
    private const int MaxDepth = 5;

    private static readonly Guid SampleUuid = new("5f0b7a4e-2c1d-4b8a-9e3f-6a7b8c9d0e1f");

    /// <summary>A one-record uncompressed batch with a key, a value and one header.</summary>
    public static byte[] SampleBatch { get; } = BuildSampleBatch();

    /// <summary>Every generated top-level type with its version range.</summary>
    public static IEnumerable<Type> AllTypes => MessageMetadata.MessageTypes;

    /// <summary>Lowest and highest valid version of <paramref name="type"/>.</summary>
    public static (short Lowest, short Highest) Versions(Type type) =>
        (StaticShort(type, "LowestSupportedVersion"), StaticShort(type, "HighestSupportedVersion"));

    /// <summary>
    /// Encoded seeds of <paramref name="type"/> at <paramref name="version"/>: the default instance and the
    /// populated one. An instance the version cannot encode (a required field the version lacks) is skipped.
    /// </summary>
    public static List<byte[]> Encodings(Type type, short version)
    {
        var seeds = new List<byte[]>(2);
        foreach (var instance in new[] { Activator.CreateInstance(type)!, Populated(type, version, 0) })
        {
            try
            {
                seeds.Add(Encode(instance, version));
            }
            catch (KafkaProtocolException)
            {
                // A default the version cannot carry, e.g. a non-nullable field left null; the other seed remains.
            }
        }

        return seeds;
    }

    /// <summary>Encodes <paramref name="message"/> (any generated type) at <paramref name="version"/>.</summary>
    public static byte[] Encode(object message, short version)
    {
        using var buffer = new PooledBufferWriter();
        var write = typeof(MessageSamples)
            .GetMethod(nameof(WriteGeneric), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(message.GetType())
            .CreateDelegate<WriteBody>();
        write(message, buffer, version);
        return buffer.ToArray();
    }

    /// <summary>
    /// A size-prefixed request frame: header (version per <see cref="ApiMessages.RequestHeaderVersion"/>) and body.
    /// </summary>
    public static byte[] RequestFrame(ApiKey apiKey, short version, byte[] body, string? clientId = "fuzz")
    {
        var header = new RequestHeader
        {
            RequestApiKey = (short)apiKey,
            RequestApiVersion = version,
            CorrelationId = 7,
            ClientId = clientId,
        };
        return Frame(Encode(header, ApiMessages.RequestHeaderVersion(apiKey, version)), body);
    }

    /// <summary>
    /// The input of <see cref="FuzzTargets.ResponseFrame"/>: API key and version, then a size-prefixed frame with
    /// the response header and body.
    /// </summary>
    public static byte[] ResponseFrame(ApiKey apiKey, short version, byte[] body)
    {
        var header = new ResponseHeader { CorrelationId = 7 };
        var frame = Frame(Encode(header, ApiMessages.ResponseHeaderVersion(apiKey, version)), body);
        var input = new byte[FuzzTargets.ResponseFrame.PrefixSize + frame.Length];
        BinaryPrimitives.WriteInt16BigEndian(input, (short)apiKey);
        BinaryPrimitives.WriteInt16BigEndian(input.AsSpan(2), version);
        frame.CopyTo(input, FuzzTargets.ResponseFrame.PrefixSize);
        return input;
    }

    private static byte[] Frame(byte[] header, byte[] body)
    {
        var frame = new byte[4 + header.Length + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, header.Length + body.Length);
        header.CopyTo(frame, 4);
        body.CopyTo(frame, 4 + header.Length);
        return frame;
    }

    private delegate void WriteBody(object message, PooledBufferWriter buffer, short version);

    private static void WriteGeneric<T>(object message, PooledBufferWriter buffer, short version)
        where T : IKafkaMessage<T>
    {
        var writer = new KafkaWriter(buffer);
        ((T)message).Write(ref writer, version);
        writer.Flush();
    }

    private static short StaticShort(Type type, string name) =>
        (short)type.GetProperty(name, BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    private static object Populated(Type type, short version, int depth)
    {
        var instance = Activator.CreateInstance(type)!;
        if (depth >= MaxDepth || !MessageMetadata.Fields.TryGetValue(type, out var fields))
        {
            return instance;
        }

        foreach (var field in fields)
        {
            if (!field.Versions.Contains(version))
            {
                continue;
            }

            var property = type.GetProperty(field.Name)!;
            property.SetValue(instance, Sample(field.Type, property.PropertyType, version, depth));
        }

        return instance;
    }

    private static object Sample(string jsonType, Type clrType, short version, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(clrType) ?? clrType;
        if (jsonType.StartsWith("[]", StringComparison.Ordinal))
        {
            var list = (IList)Activator.CreateInstance(underlying)!;
            var elementType = underlying.GetGenericArguments()[0];
            for (var i = 0; i < 2 && depth + 1 < MaxDepth; i++)
            {
                // Distinct elements, so map-keyed lists (mapKey in the JSON) stay valid.
                list.Add(Element(jsonType[2..], elementType, version, depth + 1, i));
            }

            return list;
        }

        return Element(jsonType, underlying, version, depth, 0);
    }

    private static object Element(string jsonType, Type clrType, short version, int depth, int index) => jsonType switch
    {
        "int8" => (sbyte)(1 + index),
        "int16" => (short)(2 + index),
        "uint16" => (ushort)(3 + index),
        "int32" => 4 + index,
        "uint32" => (uint)(5 + index),
        "int64" => 6L + index,
        "float64" => 1.5 + index,
        "bool" => true,
        "uuid" => index == 0 ? SampleUuid : Guid.Empty,
        "string" => index == 0 ? "fuzz" : "lockstep-é",
        "bytes" => new byte[] { 1, 2, (byte)(3 + index) },
        "records" => (ReadOnlyMemory<byte>?)SampleBatch,
        _ => Populated(Nullable.GetUnderlyingType(clrType) ?? clrType, version, depth),
    };

    private static byte[] BuildSampleBatch()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(1_700_000_000_000, [1, 2], [3, 4, 5], new RecordHeader("h", [6]));
        return builder.ToArray();
    }
}
