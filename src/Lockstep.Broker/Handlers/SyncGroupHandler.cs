// SyncGroup (key 14) — versions 0-5.
//
// Behaviour (GroupMetadataManager.classicGroupSyncToClassicGroup):
// - The leader's request carries every member's assignment; followers' requests are parked until it arrives.
//   Members the leader left out get an empty assignment.
// - UNKNOWN_MEMBER_ID (unknown group or member), FENCED_INSTANCE_ID, ILLEGAL_GENERATION (generation moved),
//   REBALANCE_IN_PROGRESS (a new rebalance started: the member must rejoin; parked followers get it too).
// Version notes: v3+ GroupInstanceId; v5+ ProtocolType/ProtocolName are mandatory (null → INCONSISTENT_GROUP_PROTOCOL,
// as KafkaApis.areMandatoryProtocolTypeAndNamePresent) and must match the group's; the response echoes them.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps SyncGroup to <see cref="GroupCoordinator.SyncGroupAsync"/>.</summary>
internal sealed class SyncGroupHandler(GroupCoordinator coordinator) : ApiHandler<SyncGroupRequest, SyncGroupResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 5;

    /// <inheritdoc />
    protected override async ValueTask<SyncGroupResponse?> HandleAsync(
        RequestContext context, SyncGroupRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        if (version >= 5 && (request.ProtocolType is null || request.ProtocolName is null))
        {
            return new SyncGroupResponse { ErrorCode = (short)ErrorCode.InconsistentGroupProtocol };
        }

        var assignments = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var assignment in request.Assignments)
        {
            assignments[assignment.MemberId] = assignment.Assignment;
        }

        var args = new SyncGroupArgs(
            request.GroupId,
            request.GenerationId,
            request.MemberId,
            version >= 3 ? request.GroupInstanceId : null,
            version >= 5 ? request.ProtocolType : null,
            version >= 5 ? request.ProtocolName : null,
            assignments);
        var pending = coordinator.SyncGroupAsync(args);
        var result = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new SyncGroupResponse
        {
            ErrorCode = (short)result.Error,
            ProtocolType = result.ProtocolType,
            ProtocolName = result.ProtocolName,
            Assignment = result.Assignment,
        };
    }
}
