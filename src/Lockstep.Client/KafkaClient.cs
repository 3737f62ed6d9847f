using System;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Internal;
using Lockstep.Protocol.Messages;

namespace Lockstep.Client;

/// <summary>
/// The raw-request escape hatch (style-guide §3.2, franz-go's <c>kgo.Client.Request</c>): send any generated Kafka
/// request to a broker over the client's managed connections, at the highest version both sides support.
/// </summary>
/// <remarks>
/// Nothing is interpreted: error codes in the response are the caller's to handle. Connection failures surface as
/// <see cref="KafkaRetriableException"/>; a request the broker cannot take at any version our code knows raises
/// <see cref="BrokerCapabilityException"/> before anything is sent.
/// </remarks>
public sealed class KafkaClient : IAsyncDisposable
{
    private readonly KafkaCluster _cluster;

    /// <summary>Creates a client; connections open lazily on the first request.</summary>
    /// <param name="options">Connection settings; <see cref="KafkaClientOptions.Validate"/> runs here.</param>
    public KafkaClient(KafkaClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _cluster = new KafkaCluster(options, allowAutoTopicCreation: false, ClientDiagnostics.Shared);
    }

    /// <summary>
    /// Sends <paramref name="request"/> and returns the broker's response. Type arguments must be given explicitly,
    /// e.g. <c>SendAsync&lt;FetchRequest, FetchResponse&gt;(fetch)</c>.
    /// </summary>
    /// <typeparam name="TRequest">The generated request type.</typeparam>
    /// <typeparam name="TResponse">Its response type.</typeparam>
    /// <param name="request">The request body.</param>
    /// <param name="nodeId">Target broker id; null means any broker (use the partition leader for Fetch/Produce,
    /// the coordinator for group and transaction APIs).</param>
    /// <param name="maxVersion">Highest version to use (e.g. to stay below topic-id-only versions); null = the
    /// highest stable version this library knows. Negotiation never exceeds what the broker advertised.</param>
    /// <param name="cancellationToken">Cancels the wait (the request may still reach the broker).</param>
    /// <returns>The decoded response.</returns>
    public Task<TResponse> SendAsync<TRequest, TResponse>(
        TRequest request, int? nodeId = null, short? maxVersion = null, CancellationToken cancellationToken = default)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : class, IKafkaMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        return _cluster.SendAsync<TRequest, TResponse>(nodeId ?? KafkaCluster.AnyNode, request, maxVersion,
            cancellationToken: cancellationToken);
    }

    /// <summary>
    /// The version <see cref="SendAsync{TRequest, TResponse}"/> would use for <typeparamref name="TRequest"/> on
    /// <paramref name="nodeId"/> (connecting if needed).
    /// </summary>
    /// <typeparam name="TRequest">The generated request type.</typeparam>
    /// <typeparam name="TResponse">Its response type.</typeparam>
    /// <param name="nodeId">The broker, or null for any.</param>
    /// <param name="maxVersion">Highest acceptable version, as in SendAsync.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The negotiated version.</returns>
    public async Task<short> GetNegotiatedVersionAsync<TRequest, TResponse>(
        int? nodeId = null, short? maxVersion = null, CancellationToken cancellationToken = default)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : class, IKafkaMessage<TResponse>
    {
        var connection = nodeId is null
            ? await _cluster.GetAnyConnectionAsync(cancellationToken).ConfigureAwait(false)
            : await _cluster.GetConnectionAsync(nodeId.Value, cancellationToken).ConfigureAwait(false);
        return KafkaCluster.NegotiateVersion<TRequest, TResponse>(connection, maxVersion);
    }

    /// <summary>Closes every connection.</summary>
    public ValueTask DisposeAsync() => _cluster.DisposeAsync();
}
