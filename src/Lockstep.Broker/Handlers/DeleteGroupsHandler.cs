// DeleteGroups (key 42) — versions 0-2.
//
// Behaviour (GroupCoordinatorService.deleteGroups, ClassicGroup.validateDeleteGroup):
// - Deletes Empty groups with their committed offsets (tombstones in __consumer_offsets, answered once durable).
// - NON_EMPTY_GROUP while the group has members; GROUP_ID_NOT_FOUND for an unknown group.
// Version notes: v2 flexible. Per-group ErrorMessage is v3+ (not advertised).
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps DeleteGroups to <see cref="GroupCoordinator.DeleteGroupsAsync"/>.</summary>
internal sealed class DeleteGroupsHandler(GroupCoordinator coordinator) : ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 2;

    /// <inheritdoc />
    protected override async ValueTask<DeleteGroupsResponse?> HandleAsync(
        RequestContext context, DeleteGroupsRequest request, CancellationToken cancellationToken)
    {
        var pending = coordinator.DeleteGroupsAsync(request.GroupsNames);
        var errors = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        var response = new DeleteGroupsResponse();
        for (var i = 0; i < request.GroupsNames.Count; i++)
        {
            response.Results.Add(new DeleteGroupsResponse.DeletableGroupResult
            {
                GroupId = request.GroupsNames[i],
                ErrorCode = (short)errors[i],
            });
        }

        return response;
    }
}
