using System.Reflection;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>Decodes one generated message body of a given version from a reader (the static-abstract Read).</summary>
public delegate object MessageBodyReader(ref KafkaReader reader, short version);

/// <summary>
/// Run-time dispatch to the generated <c>static T Read(ref KafkaReader, short)</c> of every message type, built
/// once by reflection so the fuzz targets can pick the decoder from bytes (an API key read off the wire).
/// </summary>
public static class MessageDecoders
{
    private static readonly Dictionary<Type, MessageBodyReader> ByType = [];

    private static readonly Dictionary<ApiKey, (ApiMessageInfo Info, MessageBodyReader Request, MessageBodyReader Response)> ByApi =
        ApiMessages.All.ToDictionary(a => a.ApiKey, a => (a, For(a.RequestType), For(a.ResponseType)));

    /// <summary>The decoder of <paramref name="type"/>, which must implement <see cref="IKafkaMessage{TSelf}"/>.</summary>
    public static MessageBodyReader For(Type type)
    {
        lock (ByType)
        {
            if (!ByType.TryGetValue(type, out var reader))
            {
                reader = typeof(MessageDecoders)
                    .GetMethod(nameof(ReadBody), BindingFlags.NonPublic | BindingFlags.Static)!
                    .MakeGenericMethod(type)
                    .CreateDelegate<MessageBodyReader>();
                ByType.Add(type, reader);
            }

            return reader;
        }
    }

    /// <summary>
    /// The API table entry and request/response decoders for <paramref name="apiKey"/>; false for a key this build
    /// does not know (a broker answers such a request by closing the connection).
    /// </summary>
    public static bool TryGetApi(
        ApiKey apiKey,
        out ApiMessageInfo? info,
        out MessageBodyReader? request,
        out MessageBodyReader? response)
    {
        if (ByApi.TryGetValue(apiKey, out var entry))
        {
            (info, request, response) = entry;
            return true;
        }

        (info, request, response) = (null, null, null);
        return false;
    }

    /// <summary>Decodes a whole body of <paramref name="type"/>: trailing bytes are malformed, as in a frame.</summary>
    public static object DecodeExact(Type type, ReadOnlySpan<byte> body, short version)
    {
        var reader = new KafkaReader(body);
        var message = For(type)(ref reader, version);
        reader.ExpectEnd(type.Name);
        return message;
    }

    private static object ReadBody<T>(ref KafkaReader reader, short version)
        where T : IKafkaMessage<T> => T.Read(ref reader, version);
}
