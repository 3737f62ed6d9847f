// AlterConfigs (key 33) — versions 0-2 (legacy; librdkafka's and kafkajs's admin clients still use it).
//
// Behaviour (Kafka's ControllerApis.handleLegacyAlterConfigs + ConfigurationControlManager.legacyAlterConfigs):
// - TOPIC resources: the given configs REPLACE the topic's whole override set (configs not listed revert to their
//   defaults); the set is validated (INVALID_CONFIG with a message; a null value is INVALID_CONFIG) and persisted.
//   Unknown topic: UNKNOWN_TOPIC_OR_PARTITION.
// - BROKER resources: INVALID_REQUEST; Lockstep has no dynamic broker configs (the message says so).
// - A resource named twice: INVALID_REQUEST "Duplicate resource."; an unknown resource type id: UNSUPPORTED_VERSION.
// - ValidateOnly runs every check and changes nothing.
// Version notes: v2 is the flexible encoding; semantics are identical in 0-2.
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Admin;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Replaces topic configs (legacy AlterConfigs).</summary>
internal sealed class AlterConfigsHandler(BrokerCore core) : ApiHandler<AlterConfigsRequest, AlterConfigsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 2;

    /// <inheritdoc />
    protected override ValueTask<AlterConfigsResponse?> HandleAsync(
        RequestContext context, AlterConfigsRequest request, CancellationToken cancellationToken)
    {
        var resources = request.Resources.Select(r => new ConfigAlteration.Resource(
            r.ResourceType,
            r.ResourceName,
            _ => ConfigAlteration.Replace(r.Configs.Select(c => (c.Name, c.Value))))).ToList();
        var response = new AlterConfigsResponse();
        foreach (var (type, name, error) in ConfigAlteration.Apply(core, resources, request.ValidateOnly))
        {
            response.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = type,
                ResourceName = name,
                ErrorCode = (short)error.Code,
                ErrorMessage = error.Message,
            });
        }

        return ValueTask.FromResult<AlterConfigsResponse?>(response);
    }
}
