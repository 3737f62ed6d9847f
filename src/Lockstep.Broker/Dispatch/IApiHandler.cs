using System;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Dispatch;

/// <summary>
/// Serves one Kafka API key (style-guide.md §3.2 rule 4: one handler per API key). The advertised version range
/// comes from here, and <see cref="HandlerRegistry"/> derives the ApiVersions response from all handlers, so the
/// broker never advertises a version it does not implement.
/// </summary>
/// <remarks>
/// Ordering contract with <see cref="Network.BrokerSession"/>: the session starts request N+1 only after
/// <see cref="HandleAsync"/> for request N has <em>returned</em> (not completed). A handler must therefore make every
/// state change whose order matters (log appends, sequence checks, enqueueing to a coordinator) synchronously,
/// before its first real await; only waiting (for an fsync, a long poll, a coordinator reply) may happen after.
/// This keeps pipelined produce requests of one connection in order while their fsyncs overlap (group commit).
/// </remarks>
internal interface IApiHandler
{
    /// <summary>The API this handler serves.</summary>
    ApiKey ApiKey { get; }

    /// <summary>Lowest advertised version.</summary>
    short MinVersion { get; }

    /// <summary>Highest advertised version (may depend on broker settings, e.g. InitProducerId v6 only with 2PC).</summary>
    short MaxVersion { get; }

    /// <summary>
    /// Decodes the request body, serves it and returns the response to send, or null when none is sent (Produce
    /// with acks=0). Malformed bodies raise <see cref="Lockstep.Protocol.KafkaProtocolException"/>, which closes
    /// the connection.
    /// </summary>
    ValueTask<ApiResponse?> HandleAsync(RequestContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}
