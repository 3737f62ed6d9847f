using System.Text;
using Lockstep.Broker.Internal;
using Lockstep.Broker.Tests.Harness;

namespace Lockstep.Broker.Tests.Admin;

/// <summary>topics.json that is not what TopicManager wrote fails start-up with a clear InvalidDataException.</summary>
public sealed class TopicMetadataFileTests
{
    [Theory]
    [InlineData("not json")]
    [InlineData("""{"version":2,"topics":[]}""")]
    [InlineData("""{"version":1,"topics":[{"name":"a/b","topicId":"6f1b5c1e-8a43-4c6e-9a8e-2d7f0c1b2a3c","partitions":1,"configs":{}}]}""")]
    [InlineData("""{"version":1,"topics":[{"name":"ok","topicId":"6f1b5c1e-8a43-4c6e-9a8e-2d7f0c1b2a3c","partitions":0,"configs":{}}]}""")]
    [InlineData("""{"version":1,"topics":[{"name":"ok","topicId":"6f1b5c1e-8a43-4c6e-9a8e-2d7f0c1b2a3c","partitions":1}]}""")]
    public async Task Invalid_metadata_file_fails_start_up(string content)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await harness.Broker.DisposeAsync();
        AtomicFile.Write(harness.FileSystem, "/data/topics.json", Encoding.UTF8.GetBytes(content));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => harness.RestartAsync());

        Assert.Contains("topics.json", error.Message, StringComparison.Ordinal);
    }
}
