// ApiVersions (key 18) — versions 0-4.
//
// Behaviour:
// - The list of APIs and ranges is derived from the HandlerRegistry: exactly what is implemented is advertised.
// - A request version above our maximum is answered (by BrokerSession) with a v0 body carrying
//   UNSUPPORTED_VERSION and the full list, so librdkafka/kafkajs/kafka-python downgrade (KIP-511).
// - v3+: SupportedFeatures/FinalizedFeatures advertise transaction.version (KIP-890; 0-2 supported, the finalized
//   level from the `transaction.version` setting). Clients enable TV2 iff the finalized level is >= 2.
// - KIP-511 ClientSoftwareName/Version are not validated: librdkafka falls back to v0 on INVALID_REQUEST, and
//   leniency costs nothing (client-compat.md trap 1).
// Version notes: the response header is always v0, even in flexible versions (ApiMessages.ResponseHeaderVersion).
// v5 (trunk only, KIP-1242) is not advertised.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Answers ApiVersions from the handler registry.</summary>
internal sealed class ApiVersionsHandler(BrokerConfig config, System.Func<HandlerRegistry> registry)
    : ApiHandler<ApiVersionsRequest, ApiVersionsResponse>
{
    /// <summary>Epoch of our (static) finalized features; any non-negative value means "valid".</summary>
    private const long FinalizedFeaturesEpoch = 1;

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 4;

    /// <inheritdoc />
    protected override ValueTask<ApiVersionsResponse?> HandleAsync(
        RequestContext context, ApiVersionsRequest request, CancellationToken cancellationToken)
    {
        var response = Build(registry(), ErrorCode.None);
        if (context.ApiVersion >= 3)
        {
            response.SupportedFeatures.Add(new ApiVersionsResponse.SupportedFeatureKey
            {
                Name = "transaction.version",
                MinVersion = 0,
                MaxVersion = 2,
            });
            response.FinalizedFeaturesEpoch = FinalizedFeaturesEpoch;
            if (config.TransactionVersion > 0)
            {
                // Kafka omits a finalized feature whose level is 0.
                response.FinalizedFeatures.Add(new ApiVersionsResponse.FinalizedFeatureKey
                {
                    Name = "transaction.version",
                    MinVersionLevel = config.TransactionVersion,
                    MaxVersionLevel = config.TransactionVersion,
                });
            }
        }

        return ValueTask.FromResult<ApiVersionsResponse?>(response);
    }

    /// <summary>The v0 answer to a version we do not support (see the file header).</summary>
    internal static ApiResponse UnsupportedVersion(HandlerRegistry registry) =>
        new ApiResponse<ApiVersionsResponse>(Build(registry, ErrorCode.UnsupportedVersion));

    private static ApiVersionsResponse Build(HandlerRegistry registry, ErrorCode error)
    {
        var response = new ApiVersionsResponse { ErrorCode = (short)error };
        foreach (var handler in registry.Handlers)
        {
            response.ApiKeys.Add(new ApiVersionsResponse.ApiVersion
            {
                ApiKey = (short)handler.ApiKey,
                MinVersion = handler.MinVersion,
                MaxVersion = handler.MaxVersion,
            });
        }

        return response;
    }
}
