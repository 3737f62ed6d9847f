// ListGroups (key 16) — versions 0-5.
//
// Behaviour (GroupMetadataManager.listGroups): every classic group, including Empty ones that still hold offsets.
// Version notes: v3 flexible; v4+ StatesFilter (case-insensitive state names, empty = all) and GroupState in the
// response (KIP-518); v5+ TypesFilter (case-insensitive; every group here is "classic") and GroupType (KIP-848).
using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps ListGroups to <see cref="GroupCoordinator.ListGroupsAsync"/>.</summary>
internal sealed class ListGroupsHandler(GroupCoordinator coordinator) : ApiHandler<ListGroupsRequest, ListGroupsResponse>
{
    private const string ClassicType = "classic";

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 5;

    /// <inheritdoc />
    protected override async ValueTask<ListGroupsResponse?> HandleAsync(
        RequestContext context, ListGroupsRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var pending = coordinator.ListGroupsAsync();
        var groups = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        var states = version >= 4 ? request.StatesFilter : [];
        var types = version >= 5 ? request.TypesFilter : [];
        var response = new ListGroupsResponse();
        if (types.Count > 0 && !types.Contains(ClassicType, StringComparer.OrdinalIgnoreCase))
        {
            return response;
        }

        foreach (var group in groups.OrderBy(g => g.GroupId, StringComparer.Ordinal))
        {
            var state = group.State.ToString();
            if (states.Count > 0 && !states.Contains(state, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            response.Groups.Add(new ListGroupsResponse.ListedGroup
            {
                GroupId = group.GroupId,
                ProtocolType = group.ProtocolType,
                GroupState = state,
                GroupType = ClassicType,
            });
        }

        return response;
    }
}
