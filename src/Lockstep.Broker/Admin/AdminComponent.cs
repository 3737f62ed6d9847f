using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Handlers;

namespace Lockstep.Broker.Admin;

/// <summary>
/// The topic and config admin APIs (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
/// IncrementalAlterConfigs, DescribeCluster). Stateless: all state lives in <see cref="Topics.TopicManager"/> and
/// <see cref="BrokerConfig"/>.
/// </summary>
internal sealed class AdminComponent(BrokerCore core) : IBrokerComponent
{
    /// <inheritdoc />
    public void Open()
    {
    }

    /// <inheritdoc />
    public void Start(CancellationToken stopping)
    {
    }

    /// <inheritdoc />
    public IEnumerable<IApiHandler> CreateHandlers() =>
    [
        new CreateTopicsHandler(core),
        new DeleteTopicsHandler(core),
        new CreatePartitionsHandler(core),
        new DescribeConfigsHandler(core),
        new AlterConfigsHandler(core),
        new IncrementalAlterConfigsHandler(core),
        new DescribeClusterHandler(core),
    ];

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
