// DescribeGroups (key 15) — versions 0-5.
//
// Behaviour (GroupMetadataManager.describeGroups):
// - State, protocol type, and members (id, instance id, client id/host). Member metadata, assignments and the
//   protocol name (ProtocolData) are reported only for a Stable group, as Kafka does.
// - A group that does not exist is described as state "Dead" with no error (v0-5; GROUP_ID_NOT_FOUND is v6+, not
//   advertised).
// Version notes: v3+ AuthorizedOperations when requested: no authorizer, so every group operation (READ, DELETE,
// DESCRIBE); otherwise Kafka's "not requested" sentinel int.MinValue. v4+ GroupInstanceId; v5 flexible.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps DescribeGroups to <see cref="GroupCoordinator.DescribeGroupsAsync"/>.</summary>
internal sealed class DescribeGroupsHandler(GroupCoordinator coordinator) : ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse>
{
    // AclOperation codes READ (3), DELETE (6), DESCRIBE (8): what a GROUP resource supports without an authorizer.
    private const int AllGroupOperations = (1 << 3) | (1 << 6) | (1 << 8);

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 5;

    /// <inheritdoc />
    protected override async ValueTask<DescribeGroupsResponse?> HandleAsync(
        RequestContext context, DescribeGroupsRequest request, CancellationToken cancellationToken)
    {
        var pending = coordinator.DescribeGroupsAsync(request.Groups);
        var descriptions = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        var operations = context.ApiVersion >= 3 && request.IncludeAuthorizedOperations ? AllGroupOperations : int.MinValue;
        var response = new DescribeGroupsResponse();
        for (var i = 0; i < request.Groups.Count; i++)
        {
            var description = descriptions[i];
            var group = new DescribeGroupsResponse.DescribedGroup
            {
                GroupId = request.Groups[i],
                GroupState = description?.State.ToString() ?? nameof(GroupState.Dead),
                ProtocolType = description?.ProtocolType ?? "",
                ProtocolData = description?.ProtocolData ?? "",
                AuthorizedOperations = operations,
            };
            foreach (var member in description?.Members ?? [])
            {
                group.Members.Add(new DescribeGroupsResponse.DescribedGroupMember
                {
                    MemberId = member.MemberId,
                    GroupInstanceId = member.GroupInstanceId,
                    ClientId = member.ClientId,
                    ClientHost = member.ClientHost,
                    MemberMetadata = member.Metadata,
                    MemberAssignment = member.Assignment,
                });
            }

            response.Groups.Add(group);
        }

        return response;
    }
}
