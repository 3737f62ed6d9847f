using System.Net;
using System.Net.Sockets;
using Lockstep.Transport.InMemory;

namespace Lockstep.Transport.Tests;

/// <summary>The transport contract over <see cref="InMemoryNetwork"/>, plus its addressing rules.</summary>
public sealed class InMemoryConnectionTests : ConnectionContractTests
{
    protected override (IConnectionListener Listener, IConnectionFactory Factory) CreateTransport(
        TransportOptions? options)
    {
        var network = new InMemoryNetwork(options);
        return (network.Listen(new InMemoryEndPoint("broker-0")), network);
    }

    [Fact]
    public async Task Binding_a_bound_endpoint_fails_like_TCP()
    {
        var network = new InMemoryNetwork();
        await using var first = network.Listen(new InMemoryEndPoint("b"));

        var ex = Assert.Throws<SocketException>(() => network.Listen(new InMemoryEndPoint("b")));

        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
    }

    [Fact]
    public async Task Networks_are_isolated_and_any_value_equal_endpoint_works()
    {
        var fake = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 9092);
        var network = new InMemoryNetwork();
        await using var listener = network.Listen(fake);

        var ex = await Assert.ThrowsAsync<SocketException>(
            () => new InMemoryNetwork().ConnectAsync(fake).AsTask().WaitAsync(TestFrames.Timeout));
        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);

        await using var client = await network.ConnectAsync(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 9092))
            .AsTask().WaitAsync(TestFrames.Timeout);
        await using var server = (await listener.AcceptAsync().AsTask().WaitAsync(TestFrames.Timeout))!;
        Assert.Equal(fake, server.LocalEndPoint);
    }

    [Fact]
    public async Task Connections_queued_on_a_disposed_listener_see_end_of_stream()
    {
        var network = new InMemoryNetwork();
        var listener = network.Listen(new InMemoryEndPoint("b"));
        await using var client = await network.ConnectAsync(listener.LocalEndPoint).AsTask()
            .WaitAsync(TestFrames.Timeout);

        await listener.DisposeAsync();

        Assert.Null(await FrameReader.ReadFrameAsync(client).AsTask().WaitAsync(TestFrames.Timeout));
        await client.WhenClosedAsync();
    }
}
