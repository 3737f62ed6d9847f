// DescribeCluster (key 60) — versions 0-1.
//
// Behaviour (Kafka's AuthHelper.computeDescribeClusterResponse):
// - One broker: this node at the advertised host/port, no rack; ControllerId = node id; ClusterId from
//   meta.properties.
// - ClusterAuthorizedOperations: -2147483648 unless IncludeClusterAuthorizedOperations; when asked, every operation
//   on the CLUSTER resource (no authorizer: everything is allowed) — AclEntry.supportedOperations(CLUSTER).
// - v1 EndpointType: BROKER (1) is answered; CONTROLLER (2) is MISMATCHED_ENDPOINT_TYPE, any other value
//   UNSUPPORTED_ENDPOINT_TYPE (v0 has no such field and always means BROKER).
// Version notes: v2 (IncludeFencedBrokers/IsFenced) is not advertised.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Describes the (single-node) cluster.</summary>
internal sealed class DescribeClusterHandler(BrokerCore core) : ApiHandler<DescribeClusterRequest, DescribeClusterResponse>
{
    private const sbyte BrokerEndpoint = 1;
    private const sbyte ControllerEndpoint = 2;

    /// <summary>
    /// Bitfield of CREATE (5), ALTER (7), DESCRIBE (8), CLUSTER_ACTION (9), DESCRIBE_CONFIGS (10), ALTER_CONFIGS (11),
    /// IDEMPOTENT_WRITE (12): Kafka's AclOperation codes as bit positions.
    /// </summary>
    private const int AllClusterOperations = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 1;

    /// <inheritdoc />
    protected override ValueTask<DescribeClusterResponse?> HandleAsync(
        RequestContext context, DescribeClusterRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeClusterResponse { ClusterId = core.ClusterId };
        if (context.ApiVersion >= 1)
        {
            response.EndpointType = BrokerEndpoint;
            if (request.EndpointType != BrokerEndpoint)
            {
                response.ErrorCode = (short)(request.EndpointType == ControllerEndpoint
                    ? ErrorCode.MismatchedEndpointType
                    : ErrorCode.UnsupportedEndpointType);
                response.ErrorMessage = request.EndpointType == ControllerEndpoint
                    ? "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                    : $"Unsupported endpoint type {request.EndpointType}";
                return ValueTask.FromResult<DescribeClusterResponse?>(response);
            }
        }

        response.ControllerId = core.Config.NodeId;
        response.Brokers.Add(new DescribeClusterResponse.DescribeClusterBroker
        {
            BrokerId = core.Config.NodeId,
            Host = core.AdvertisedHost,
            Port = core.AdvertisedPort,
            Rack = null,
        });
        if (request.IncludeClusterAuthorizedOperations)
        {
            response.ClusterAuthorizedOperations = AllClusterOperations;
        }

        return ValueTask.FromResult<DescribeClusterResponse?>(response);
    }
}
