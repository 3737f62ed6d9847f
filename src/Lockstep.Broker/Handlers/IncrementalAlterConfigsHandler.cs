// IncrementalAlterConfigs (key 44) — versions 0-1.
//
// Behaviour (Kafka's ControllerApis.handleIncrementalAlterConfigs + ConfigurationControlManager):
// - TOPIC resources: ops SET (0), DELETE (1), APPEND (2), SUBTRACT (3) applied to the topic's overrides; APPEND and
//   SUBTRACT only for LIST configs (cleanup.policy), else INVALID_CONFIG "Can't APPEND to key X because its type is
//   not LIST."; the resulting set is validated as a whole (INVALID_CONFIG with a message) and persisted by
//   TopicManager.ReplaceConfigs, which also applies the log settings to open partitions. Unknown topic:
//   UNKNOWN_TOPIC_OR_PARTITION. A config key twice in one resource: INVALID_REQUEST.
// - BROKER resources: INVALID_REQUEST; Lockstep has no dynamic broker configs (the message says so).
// - A resource named twice: INVALID_REQUEST "Duplicate resource."; an unknown resource type id: UNSUPPORTED_VERSION.
// - ValidateOnly runs every check and changes nothing.
// Version notes: v1 is the flexible encoding of v0; the semantics are identical.
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Admin;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Alters topic configs operation by operation.</summary>
internal sealed class IncrementalAlterConfigsHandler(BrokerCore core)
    : ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 1;

    /// <inheritdoc />
    protected override ValueTask<IncrementalAlterConfigsResponse?> HandleAsync(
        RequestContext context, IncrementalAlterConfigsRequest request, CancellationToken cancellationToken)
    {
        var resources = request.Resources.Select(r => new ConfigAlteration.Resource(
            r.ResourceType,
            r.ResourceName,
            current => ConfigAlteration.Incremental(
                current, r.Configs.Select(c => (c.Name, c.ConfigOperation, c.Value)), core.Config))).ToList();
        var response = new IncrementalAlterConfigsResponse();
        foreach (var (type, name, error) in ConfigAlteration.Apply(core, resources, request.ValidateOnly))
        {
            response.Responses.Add(new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = type,
                ResourceName = name,
                ErrorCode = (short)error.Code,
                ErrorMessage = error.Message,
            });
        }

        return ValueTask.FromResult<IncrementalAlterConfigsResponse?>(response);
    }
}
