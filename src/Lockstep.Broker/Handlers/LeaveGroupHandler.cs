// LeaveGroup (key 13) — versions 0-5.
//
// Behaviour (GroupMetadataManager.classicGroupLeaveToClassicGroup):
// - Removes members and rebalances the remaining ones. An unknown group answers UNKNOWN_MEMBER_ID at the top level;
//   per member: UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID. A static member can be removed by instance id alone
//   (empty member id, admin use).
// Version notes: v0-2 name one MemberId and get one ErrorCode: the top-level error if any, else the member's
// (Kafka's LeaveGroupResponse for version <= 2); v3+ batch Members with per-member results (KIP-345); v5+ Reason.
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps LeaveGroup to <see cref="GroupCoordinator.LeaveGroupAsync"/>.</summary>
internal sealed class LeaveGroupHandler(GroupCoordinator coordinator) : ApiHandler<LeaveGroupRequest, LeaveGroupResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 5;

    /// <inheritdoc />
    protected override async ValueTask<LeaveGroupResponse?> HandleAsync(
        RequestContext context, LeaveGroupRequest request, CancellationToken cancellationToken)
    {
        var batched = context.ApiVersion >= 3;
        IReadOnlyList<LeavingMember> members = batched
            ? request.Members.Select(m => new LeavingMember(m.MemberId, m.GroupInstanceId)).ToList()
            : [new LeavingMember(request.MemberId, null)];
        var pending = coordinator.LeaveGroupAsync(request.GroupId, members);
        var (error, results) = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!batched)
        {
            var single = error != ErrorCode.None ? error : results.Count > 0 ? results[0].Error : ErrorCode.None;
            return new LeaveGroupResponse { ErrorCode = (short)single };
        }

        var response = new LeaveGroupResponse { ErrorCode = (short)error };
        foreach (var result in results)
        {
            response.Members.Add(new LeaveGroupResponse.MemberResponse
            {
                MemberId = result.MemberId,
                GroupInstanceId = result.GroupInstanceId,
                ErrorCode = (short)result.Error,
            });
        }

        return response;
    }
}
