using System;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol.Messages;

namespace Lockstep.Client.Internal;

/// <summary>
/// Sending a request whose shape depends on the negotiated version (added for the consumer and admin client, issue
/// 5 items 5-6): fields a version lacks must keep their defaults or the generated writer rejects them, and some
/// APIs change shape (OffsetFetch v8 batches groups, Fetch v13 names topics by id, LeaveGroup v3 batches members).
/// </summary>
internal static class KafkaClusterVersionedSend
{
    /// <summary>Negotiates the version on <paramref name="nodeId"/>'s connection, builds the request for it with
    /// <paramref name="build"/> and sends it.</summary>
    public static async Task<TResponse> SendAsync<TRequest, TResponse>(
        this KafkaCluster cluster, int nodeId, Func<short, TRequest> build, short? maxVersion = null,
        CancellationToken cancellationToken = default)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : class, IKafkaMessage<TResponse>
    {
        var connection = nodeId == KafkaCluster.AnyNode
            ? await cluster.GetAnyConnectionAsync(cancellationToken).ConfigureAwait(false)
            : await cluster.GetConnectionAsync(nodeId, cancellationToken).ConfigureAwait(false);
        var version = KafkaCluster.NegotiateVersion<TRequest, TResponse>(connection, maxVersion);
        var response = await connection.SendAsync<TRequest, TResponse>(build(version), version, expectResponse: true,
            cancellationToken).ConfigureAwait(false);
        return response!;
    }
}
