using System.Collections;
using System.Reflection;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Tests.Messages;

/// <summary>
/// Test helpers over the generated messages: encode/decode through the static-abstract interface (also when the type
/// is only known at run time), build seeded random instances from <see cref="MessageMetadata"/> (so no JSON is parsed
/// at test time), and compare two instances field by field.
/// </summary>
internal static class MessageCodec
{
    public static byte[] Encode<T>(T message, short version)
        where T : IKafkaMessage<T>
    {
        using var buffer = new PooledBufferWriter();
        var writer = new KafkaWriter(buffer);
        message.Write(ref writer, version);
        writer.Flush();
        return buffer.ToArray();
    }

    public static T Decode<T>(byte[] bytes, short version)
        where T : IKafkaMessage<T>
    {
        var reader = new KafkaReader(bytes.AsMemory());
        var message = T.Read(ref reader, version);
        reader.ExpectEnd(typeof(T).Name);
        return message;
    }

    public static byte[] EncodeObject(object message, short version) =>
        (byte[])Invoke(nameof(Encode), message.GetType(), message, version);

    public static object DecodeObject(Type type, byte[] bytes, short version) =>
        Invoke(nameof(Decode), type, bytes, version);

    private static object Invoke(string name, Type type, params object[] args)
    {
        var method = typeof(MessageCodec).GetMethod(name, BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(type);
        try
        {
            return method.Invoke(null, args)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    public static short StaticShort(Type type, string property) =>
        (short)type.GetProperty(property, BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    /// <summary>Every (generated top-level type, valid version) pair.</summary>
    public static IEnumerable<(Type Type, short Version)> AllPairs()
    {
        foreach (var type in MessageMetadata.MessageTypes)
        {
            var lo = StaticShort(type, "LowestSupportedVersion");
            var hi = StaticShort(type, "HighestSupportedVersion");
            for (var v = lo; v <= hi; v++)
            {
                yield return (type, v);
            }
        }
    }

    /// <summary>
    /// A random instance of <paramref name="type"/> at <paramref name="version"/>: only fields present in that version
    /// get values; null only where the version is nullable; tagged fields are sometimes left at their default; in
    /// flexible versions some unknown tags (numbers no known field uses) are added to exercise their preservation.
    /// </summary>
    public static object Random(Type type, short version, bool flexible, Random rng)
    {
        var instance = Activator.CreateInstance(type)!;
        var fields = MessageMetadata.Fields[type];
        foreach (var field in fields)
        {
            if (!field.Versions.Contains(version))
            {
                continue;
            }

            var tagged = field.TaggedVersions.Contains(version);
            if (tagged && rng.Next(3) == 0)
            {
                continue;
            }

            var property = type.GetProperty(field.Name)!;
            var value = field.NullableVersions.Contains(version) && rng.Next(4) == 0
                ? null
                : RandomValue(field.Type, property.PropertyType, version, flexible, rng);
            property.SetValue(instance, value);
        }

        if (flexible && rng.Next(3) == 0)
        {
            var known = fields.Where(f => f.Tag >= 0).Select(f => f.Tag).ToHashSet();
            var unknown = new List<TaggedField>();
            foreach (var tag in Enumerable.Range(0, 12).Where(t => !known.Contains(t) && rng.Next(4) == 0))
            {
                unknown.Add(new TaggedField(tag, RandomBytes(rng, 6)));
            }

            if (unknown.Count > 0)
            {
                type.GetProperty("UnknownTaggedFields")!.SetValue(instance, unknown);
            }
        }

        return instance;
    }

    private static readonly string[] Alphabet = ["a", "Z", "0", "-", ".", "_", " ", "é", "漢", "🙂"];

    private static byte[] RandomBytes(Random rng, int max)
    {
        var bytes = new byte[rng.Next(max + 1)];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static object RandomValue(string jsonType, Type clrType, short version, bool flexible, Random rng)
    {
        var underlying = Nullable.GetUnderlyingType(clrType) ?? clrType;
        if (jsonType.StartsWith("[]", StringComparison.Ordinal))
        {
            var elementType = underlying.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(underlying)!;
            var count = rng.Next(4);
            for (var i = 0; i < count; i++)
            {
                list.Add(RandomValue(jsonType[2..], elementType, version, flexible, rng));
            }

            return list;
        }

        return jsonType switch
        {
            "int8" => (sbyte)rng.Next(sbyte.MinValue, sbyte.MaxValue + 1),
            "int16" => (short)rng.Next(short.MinValue, short.MaxValue + 1),
            "uint16" => (ushort)rng.Next(ushort.MaxValue + 1),
            "int32" => rng.Next(int.MinValue, int.MaxValue),
            "uint32" => (uint)rng.NextInt64(uint.MaxValue + 1L),
            "int64" => rng.NextInt64(long.MinValue, long.MaxValue),
            "float64" => (rng.NextDouble() - 0.5) * 1e9,
            "bool" => rng.Next(2) == 1,
            "uuid" => new Guid(RandomBytes16(rng)),
            "string" => string.Concat(Enumerable.Range(0, rng.Next(10)).Select(_ => Alphabet[rng.Next(Alphabet.Length)])),
            "bytes" => RandomBytes(rng, 16),
            "records" => (ReadOnlyMemory<byte>?)RandomBytes(rng, 32),
            _ => Random(underlying, version, flexible, rng),
        };
    }

    private static byte[] RandomBytes16(Random rng)
    {
        var bytes = new byte[16];
        rng.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Deep structural equality; the failure names the path of the first difference.</summary>
    public static void AssertDeepEqual(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            return;
        }

        switch (expected)
        {
            case byte[] bytes:
                Assert.True(bytes.AsSpan().SequenceEqual((byte[])actual), $"{path}: bytes differ");
                return;
            case ReadOnlyMemory<byte> memory:
                Assert.True(memory.Span.SequenceEqual(((ReadOnlyMemory<byte>)actual).Span), $"{path}: records differ");
                return;
            case TaggedField tagged:
                var other = (TaggedField)actual;
                Assert.Equal(tagged.Tag, other.Tag);
                Assert.True(tagged.Data.Span.SequenceEqual(other.Data.Span), $"{path}: tagged field {tagged.Tag} differs");
                return;
            case string or Guid or bool or sbyte or short or ushort or int or uint or long or double:
                Assert.True(expected.Equals(actual), $"{path}: expected {expected}, got {actual}");
                return;
            case IList list:
                var actualList = (IList)actual;
                Assert.True(list.Count == actualList.Count, $"{path}: expected {list.Count} element(s), got {actualList.Count}");
                for (var i = 0; i < list.Count; i++)
                {
                    AssertDeepEqual(list[i], actualList[i], $"{path}[{i}]");
                }

                return;
        }

        Assert.Equal(expected.GetType(), actual.GetType());
        foreach (var property in expected.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            AssertDeepEqual(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
        }
    }
}
