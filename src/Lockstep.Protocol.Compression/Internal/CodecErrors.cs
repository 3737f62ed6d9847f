using System;
using System.Diagnostics.CodeAnalysis;

namespace Lockstep.Protocol.Compression.Internal;

/// <summary>Shared throw sites of the codecs; every failure is a <see cref="KafkaProtocolException"/>.</summary>
internal static class CodecErrors
{
    [DoesNotReturn]
    public static void ThrowLimit(string codec, int maxOutputBytes) =>
        throw new KafkaProtocolException(
            $"{codec} payload decompresses to more than the {maxOutputBytes}-byte limit (decompression bomb guard).");

    [DoesNotReturn]
    public static void ThrowCorrupt(string codec, string detail) =>
        throw new KafkaProtocolException($"{codec} payload is corrupt: {detail}");

    [DoesNotReturn]
    public static void ThrowCorrupt(string codec, Exception inner) =>
        throw new KafkaProtocolException($"{codec} payload is corrupt: {inner.Message}", inner);

    /// <summary>A compressed batch always carries at least a frame header; an empty payload is corrupt.</summary>
    public static void ThrowIfEmpty(string codec, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty)
        {
            ThrowCorrupt(codec, "the payload is empty.");
        }
    }

    public static void ThrowIfBadLimit(int maxOutputBytes) =>
        ArgumentOutOfRangeException.ThrowIfNegative(maxOutputBytes);
}
