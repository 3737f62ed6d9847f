using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Messages;

/// <summary>
/// A versioned Kafka message (request, response, header or data schema) that can encode and decode itself.
/// Implemented by every generated type; versions are the JSON schema's <c>validVersions</c>.
/// </summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
public interface IKafkaMessage<TSelf>
    where TSelf : IKafkaMessage<TSelf>
{
    /// <summary>Lowest version in the schema's <c>validVersions</c>.</summary>
    static abstract short LowestSupportedVersion { get; }

    /// <summary>Highest version in the schema's <c>validVersions</c>.</summary>
    static abstract short HighestSupportedVersion { get; }

    /// <summary>Decodes a message of <paramref name="version"/>; malformed input raises <see cref="KafkaProtocolException"/>.</summary>
    static abstract TSelf Read(ref KafkaReader reader, short version);

    /// <summary>
    /// Encodes this message at <paramref name="version"/>. A non-default value in a field that the version lacks
    /// raises <see cref="KafkaProtocolException"/> unless the field is ignorable (Kafka's rule).
    /// </summary>
    void Write(ref KafkaWriter writer, short version);
}

/// <summary>A Kafka request body, tied to its API key and response type.</summary>
/// <typeparam name="TSelf">The request type.</typeparam>
/// <typeparam name="TResponse">The response type the broker answers with.</typeparam>
public interface IKafkaRequest<TSelf, TResponse> : IKafkaMessage<TSelf>
    where TSelf : IKafkaRequest<TSelf, TResponse>
    where TResponse : IKafkaMessage<TResponse>
{
    /// <summary>The API key of this request.</summary>
    static abstract ApiKey ApiKey { get; }

    /// <summary>First version that uses the flexible encoding (KIP-482), or -1 if none does.</summary>
    static abstract short FlexibleVersionsFrom { get; }
}
