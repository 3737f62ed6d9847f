// FindCoordinator (key 10) — versions 0-4.
//
// Behaviour:
// - Key type 0 (GROUP): this node is the coordinator of every group (single node).
// - Key type 1 (TRANSACTION): this node while the transaction coordinator runs (it registers itself as the
//   partitions' transaction verifier when it opens), else COORDINATOR_NOT_AVAILABLE, which clients retry.
// - Other key types (e.g. 2, share groups): INVALID_REQUEST, as Kafka's CoordinatorType.forId rejects them.
// Version notes: v0 has no key type (always GROUP); v1+ carry ErrorMessage; v4+ batch keys in CoordinatorKeys and
// answer in Coordinators (KIP-699), the top-level fields are unused.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Answers FindCoordinator with this node for groups.</summary>
internal sealed class FindCoordinatorHandler(BrokerCore core) : ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse>
{
    private const sbyte GroupKeyType = 0;
    private const sbyte TransactionKeyType = 1;

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 4;

    /// <inheritdoc />
    protected override ValueTask<FindCoordinatorResponse?> HandleAsync(
        RequestContext context, FindCoordinatorRequest request, CancellationToken cancellationToken)
    {
        var response = new FindCoordinatorResponse();
        if (context.ApiVersion >= 4)
        {
            foreach (var key in request.CoordinatorKeys)
            {
                var (error, message) = Resolve(request.KeyType);
                var ok = error == ErrorCode.None;
                response.Coordinators.Add(new FindCoordinatorResponse.Coordinator
                {
                    Key = key,
                    NodeId = ok ? core.Config.NodeId : -1,
                    Host = ok ? core.AdvertisedHost : "",
                    Port = ok ? core.AdvertisedPort : -1,
                    ErrorCode = (short)error,
                    ErrorMessage = message,
                });
            }
        }
        else
        {
            var (error, message) = Resolve(context.ApiVersion == 0 ? GroupKeyType : request.KeyType);
            var ok = error == ErrorCode.None;
            response.ErrorCode = (short)error;
            response.ErrorMessage = message;
            response.NodeId = ok ? core.Config.NodeId : -1;
            response.Host = ok ? core.AdvertisedHost : "";
            response.Port = ok ? core.AdvertisedPort : -1;
        }

        return ValueTask.FromResult<FindCoordinatorResponse?>(response);
    }

    private (ErrorCode Error, string? Message) Resolve(sbyte keyType) => keyType switch
    {
        GroupKeyType => (ErrorCode.None, null),

        // Transactions (issue 4): never send producers to a coordinator that is not serving.
        TransactionKeyType => core.TransactionVerifier is not null
            ? (ErrorCode.None, null)
            : (ErrorCode.CoordinatorNotAvailable, "The transaction coordinator is not available."),
        _ => (ErrorCode.InvalidRequest, $"Unknown coordinator key type {keyType}."),
    };
}
