using System.Diagnostics.CodeAnalysis;

namespace Lockstep.Protocol;

/// <summary>
/// Throw sites kept out of line so that the hot decode paths stay small and inlinable (the Npgsql pattern).
/// </summary>
public static class ThrowHelper
{
    /// <summary>Throws a <see cref="KafkaProtocolException"/> with <paramref name="message"/>.</summary>
    [DoesNotReturn]
    public static void ThrowProtocol(string message) => throw new KafkaProtocolException(message);

    /// <summary>Throws because fewer than <paramref name="needed"/> bytes remain at <paramref name="position"/>.</summary>
    [DoesNotReturn]
    public static void ThrowTruncated(int needed, int position, int remaining) =>
        throw new KafkaProtocolException(
            $"Truncated input: needed {needed} byte(s) at offset {position} but only {remaining} remain.");

    /// <summary>
    /// Throws because a field that the target version cannot carry holds a non-default value. Kafka's Java
    /// serializer raises UnsupportedVersionException("Attempted to write a non-default X at version N") in the
    /// same situation (generator/src/main/java/org/apache/kafka/message/FieldSpec.java).
    /// </summary>
    [DoesNotReturn]
    public static void ThrowNonDefaultField(string field, short version) =>
        throw new KafkaProtocolException($"Attempted to write a non-default {field} at version {version}.");

    /// <summary>Throws because <paramref name="version"/> is outside the message's valid versions.</summary>
    [DoesNotReturn]
    public static void ThrowUnsupportedVersion(string message, short version) =>
        throw new KafkaProtocolException($"{message} does not support version {version}.");

    /// <summary>Throws because a non-nullable field was null when writing, or read as null.</summary>
    [DoesNotReturn]
    public static void ThrowNullField(string field, short version) =>
        throw new KafkaProtocolException($"Non-nullable field {field} was null at version {version}.");
}
