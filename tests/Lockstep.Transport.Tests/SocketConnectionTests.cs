using System.Net;
using System.Net.Sockets;
using Lockstep.Transport.Sockets;
using Lockstep.Transport.Streams;

namespace Lockstep.Transport.Tests;

/// <summary>
/// The transport contract over real TCP on 127.0.0.1, plus what only sockets have: TCP_NODELAY, connection resets
/// and name resolution.
/// </summary>
public sealed class SocketConnectionTests : ConnectionContractTests
{
    protected override (IConnectionListener Listener, IConnectionFactory Factory) CreateTransport(
        TransportOptions? options)
    {
        var socketOptions = options is null
            ? SocketTransportOptions.Default
            : new SocketTransportOptions
            {
                MaxInputBufferBytes = options.MaxInputBufferBytes,
                MaxOutputBufferBytes = options.MaxOutputBufferBytes,
            };
        return (SocketConnectionListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), socketOptions),
            new SocketConnectionFactory(socketOptions));
    }

    [Fact]
    public async Task Both_ends_have_NoDelay_set()
    {
        var (client, server) = await ConnectAsync();

        Assert.True(((SocketConnection)client).Socket.NoDelay);
        Assert.True(((SocketConnection)server).Socket.NoDelay);
    }

    [Fact]
    public async Task Peer_reset_mid_frame_surfaces_as_ConnectionClosedException_with_the_socket_error()
    {
        var accept = Listener.AcceptAsync().AsTask();
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(Listener.LocalEndPoint).WaitAsync(TestFrames.Timeout);
        await using var server = (await accept.WaitAsync(TestFrames.Timeout))!;
        await raw.SendAsync(TestFrames.Prefix(100).Concat(new byte[] { 1, 2 }).ToArray());
        var partial = await server.Input.ReadAtLeastAsync(6).AsTask().WaitAsync(TestFrames.Timeout);
        server.Input.AdvanceTo(partial.Buffer.Start, partial.Buffer.End);

        // Linger 0 makes close() send RST instead of FIN.
        raw.LingerState = new LingerOption(true, 0);
        raw.Close();

        var ex = await Assert.ThrowsAsync<ConnectionClosedException>(
            () => FrameReader.ReadFrameAsync(server).AsTask().WaitAsync(TestFrames.Timeout));
        await server.WhenClosedAsync();
        Assert.Contains("ConnectionReset", server.CloseReason, StringComparison.Ordinal);
        Assert.Equal(server.CloseReason, ex.Message);
        Assert.IsType<SocketException>(ex.InnerException);
    }

    [Fact]
    public async Task Connect_by_host_name_reaches_an_IPv4_loopback_listener()
    {
        var port = ((IPEndPoint)Listener.LocalEndPoint).Port;
        var accept = Listener.AcceptAsync().AsTask();

        await using var client = await Factory.ConnectAsync(new DnsEndPoint("localhost", port)).AsTask()
            .WaitAsync(TestFrames.Timeout);
        await using var server = (await accept.WaitAsync(TestFrames.Timeout))!;
        await FrameWriter.WriteFrameAndFlushAsync(client.Output, new byte[] { 7 });

        using var frame = await FrameReader.ReadFrameAsync(server).AsTask().WaitAsync(TestFrames.Timeout);
        Assert.Equal(new byte[] { 7 }, frame!.Span.ToArray());
    }

    [Fact]
    public async Task Stream_connection_over_a_NetworkStream_interoperates_with_the_socket_transport()
    {
        // The TLS seam: a server end built from a raw accepted socket wrapped in a Stream (SslStream later).
        using var rawListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        rawListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        rawListener.Listen(1);
        var accept = rawListener.AcceptAsync();
        await using var client = await Factory.ConnectAsync(rawListener.LocalEndPoint!).AsTask()
            .WaitAsync(TestFrames.Timeout);
        var socket = await accept.WaitAsync(TestFrames.Timeout);
        await using var server = StreamConnection.Create(
            new NetworkStream(socket, ownsSocket: true), socket.LocalEndPoint, socket.RemoteEndPoint);

        for (var i = 0; i < 50; i++)
        {
            FrameWriter.WriteFrame(client.Output, TestFrames.Payload(i, 2000));
        }

        await client.Output.FlushAsync();
        for (var i = 0; i < 50; i++)
        {
            using var frame = await FrameReader.ReadFrameAsync(server).AsTask().WaitAsync(TestFrames.Timeout);
            Assert.True(frame!.Span.SequenceEqual(TestFrames.Payload(i, 2000)));
        }

        server.Abort("first");
        Assert.Null(await FrameReader.ReadFrameAsync(client).AsTask().WaitAsync(TestFrames.Timeout));
        await server.WhenClosedAsync();
        Assert.Equal("first", server.CloseReason);
    }
}
