using System.Net.Sockets;
using Lockstep.Protocol;

namespace Lockstep.Transport.Tests;

/// <summary>
/// Goal: every transport (TCP sockets, in-memory) behaves the same to the broker and client: frames arrive in order
/// and intact, back-pressure never deadlocks, close reasons are first-wins, and every way a connection can end
/// surfaces as end of stream or <see cref="ConnectionClosedException"/>, never a hang. Method: one abstract suite
/// (the Npgsql parametrized-fixture shape, style-guide §3.6) with one derived class per transport. No timing
/// assertions; every wait is bounded by <see cref="TestFrames.Timeout"/>.
/// </summary>
public abstract class ConnectionContractTests : IAsyncLifetime
{
    private readonly List<IConnection> _connections = [];
    private IConnectionListener? _listener;
    private IConnectionFactory? _factory;

    protected IConnectionListener Listener => _listener!;

    protected IConnectionFactory Factory => _factory!;

    /// <summary>Creates a listener and a factory that can reach it.</summary>
    protected abstract (IConnectionListener Listener, IConnectionFactory Factory) CreateTransport(
        TransportOptions? options);

    public ValueTask InitializeAsync()
    {
        (_listener, _factory) = CreateTransport(null);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            connection.Abort("Test finished.");
            await connection.DisposeAsync().AsTask().WaitAsync(TestFrames.Timeout);
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    protected async Task<(IConnection Client, IConnection Server)> ConnectAsync()
    {
        var accept = Listener.AcceptAsync().AsTask();
        var client = await Factory.ConnectAsync(Listener.LocalEndPoint).AsTask().WaitAsync(TestFrames.Timeout);
        _connections.Add(client);
        var server = await accept.WaitAsync(TestFrames.Timeout);
        Assert.NotNull(server);
        _connections.Add(server);
        return (client, server);
    }

    [Fact]
    public async Task Thousand_pipelined_frames_are_echoed_in_order()
    {
        var (client, server) = await ConnectAsync();
        var echo = Task.Run(async () =>
        {
            var count = 0;
            while (await FrameReader.ReadFrameAsync(server) is { } frame)
            {
                using (frame)
                {
                    FrameWriter.WriteFrame(server.Output, frame.Span);
                }

                await server.Output.FlushAsync();
                count++;
            }

            return count;
        });

        const int Frames = 1000;
        var send = Task.Run(async () =>
        {
            for (var i = 0; i < Frames; i++)
            {
                FrameWriter.WriteFrame(client.Output, TestFrames.Payload(i, i * 37 % 3001));
                if (i % 50 == 49)
                {
                    await client.Output.FlushAsync(); // many frames per flush: pipelined, not request/response
                }
            }

            await client.Output.FlushAsync();
        });

        for (var i = 0; i < Frames; i++)
        {
            using var frame = await FrameReader.ReadFrameAsync(client).AsTask().WaitAsync(TestFrames.Timeout);
            Assert.NotNull(frame);
            Assert.True(frame.Span.SequenceEqual(TestFrames.Payload(i, i * 37 % 3001)), $"frame {i} differs");
        }

        await send.WaitAsync(TestFrames.Timeout);
        await client.DisposeAsync().AsTask().WaitAsync(TestFrames.Timeout);
        Assert.Equal(Frames, await echo.WaitAsync(TestFrames.Timeout));
    }

    [Fact]
    public async Task Frames_larger_than_every_buffer_threshold_arrive_intact_both_ways()
    {
        await Listener.DisposeAsync();
        (_listener, _factory) = CreateTransport(
            new TransportOptions { MaxInputBufferBytes = 16 * 1024, MaxOutputBufferBytes = 16 * 1024 });
        var (client, server) = await ConnectAsync();
        var payload = TestFrames.Payload(42, 3 * 1024 * 1024);

        var echo = Task.Run(async () =>
        {
            using var frame = await FrameReader.ReadFrameAsync(server);
            await FrameWriter.WriteFrameAndFlushAsync(server.Output, frame!.Memory);
        });
        await FrameWriter.WriteFrameAndFlushAsync(client.Output, payload).AsTask().WaitAsync(TestFrames.Timeout);

        using var back = await FrameReader.ReadFrameAsync(client).AsTask().WaitAsync(TestFrames.Timeout);
        Assert.True(back!.Span.SequenceEqual(payload));
        await echo.WaitAsync(TestFrames.Timeout);
    }

    [Fact]
    public async Task Graceful_dispose_delivers_everything_written_then_the_peer_reads_end_of_stream()
    {
        var (client, server) = await ConnectAsync();
        for (var i = 0; i < 100; i++)
        {
            FrameWriter.WriteFrame(client.Output, TestFrames.Payload(i, 500));
        }

        await client.DisposeAsync().AsTask().WaitAsync(TestFrames.Timeout);

        for (var i = 0; i < 100; i++)
        {
            using var frame = await FrameReader.ReadFrameAsync(server).AsTask().WaitAsync(TestFrames.Timeout);
            Assert.True(frame!.Span.SequenceEqual(TestFrames.Payload(i, 500)));
        }

        Assert.Null(await FrameReader.ReadFrameAsync(server).AsTask().WaitAsync(TestFrames.Timeout));
        await server.WhenClosedAsync();
        Assert.Equal("The application completed its output.", client.CloseReason);
        Assert.Equal("The peer closed the connection.", server.CloseReason);
    }

    [Fact]
    public async Task Abrupt_peer_close_mid_frame_surfaces_as_ConnectionClosedException()
    {
        var (client, server) = await ConnectAsync();
        await client.Output.WriteAsync(TestFrames.Prefix(1000));
        await client.Output.WriteAsync(TestFrames.Payload(1, 10));

        // Wait until the partial frame has reached the server, so the abort cannot discard it unsent.
        var partial = await server.Input.ReadAtLeastAsync(14).AsTask().WaitAsync(TestFrames.Timeout);
        server.Input.AdvanceTo(partial.Buffer.Start, partial.Buffer.End);
        client.Abort("Test: client gave up.");

        var ex = await Assert.ThrowsAsync<ConnectionClosedException>(
            () => FrameReader.ReadFrameAsync(server).AsTask().WaitAsync(TestFrames.Timeout));
        Assert.Contains("10 of 1000", ex.Message, StringComparison.Ordinal);
        await server.WhenClosedAsync();
        await client.WhenClosedAsync();
        Assert.Equal("Test: client gave up.", client.CloseReason);
        Assert.Equal("The peer closed the connection.", server.CloseReason);
    }

    [Fact]
    public async Task Abort_first_reason_wins_and_pending_and_later_operations_fail_with_it()
    {
        var (client, server) = await ConnectAsync();
        var pendingRead = FrameReader.ReadFrameAsync(server).AsTask();

        server.Abort("first");
        server.Abort("second");

        var readError = await Assert.ThrowsAsync<ConnectionClosedException>(
            () => pendingRead.WaitAsync(TestFrames.Timeout));
        Assert.Equal("first", readError.Message);
        await server.WhenClosedAsync();
        Assert.Equal("first", server.CloseReason);
        server.Abort("third");
        Assert.Equal("first", server.CloseReason);

        FrameWriter.WriteFrame(server.Output, new byte[] { 1 });
        var flushError = await Assert.ThrowsAsync<ConnectionClosedException>(
            () => server.Output.FlushAsync().AsTask().WaitAsync(TestFrames.Timeout));
        Assert.Equal("first", flushError.Message);

        // The peer sees a clean end of stream (FIN), as with a Kafka broker closing a channel.
        Assert.Null(await FrameReader.ReadFrameAsync(client).AsTask().WaitAsync(TestFrames.Timeout));
        await client.WhenClosedAsync();
    }

    [Fact]
    public async Task Concurrent_aborts_record_exactly_one_reason()
    {
        var (_, server) = await ConnectAsync();
        var pendingRead = FrameReader.ReadFrameAsync(server).AsTask();
        var reasons = Enumerable.Range(0, 8).Select(i => $"reason-{i}").ToArray();
        using var start = new Barrier(reasons.Length);

        // Dedicated threads, not pool tasks: blocking 8 pool threads on a barrier starves a 2-core pool.
        var threads = reasons.Select(r => new Thread(() =>
        {
            start.SignalAndWait(TestFrames.Timeout);
            server.Abort(r);
        })).ToList();
        threads.ForEach(t => t.Start());
        Assert.All(threads, t => Assert.True(t.Join(TestFrames.Timeout)));

        await server.WhenClosedAsync();
        Assert.Contains(server.CloseReason, reasons);
        var ex = await Assert.ThrowsAsync<ConnectionClosedException>(() => pendingRead.WaitAsync(TestFrames.Timeout));
        Assert.Equal(server.CloseReason, ex.Message);
    }

    [Theory]
    [InlineData(FrameReader.DefaultMaxFrameSize + 1, "104857601")]
    [InlineData(int.MaxValue, "2147483647")]
    [InlineData(-1, "size = -1")]
    public async Task Bad_size_prefix_from_peer_aborts_the_connection_with_the_size_in_the_reason(
        int size, string mention)
    {
        var (client, server) = await ConnectAsync();
        await client.Output.WriteAsync(TestFrames.Prefix(size));

        var ex = await Assert.ThrowsAsync<KafkaProtocolException>(
            () => FrameReader.ReadFrameAsync(server).AsTask().WaitAsync(TestFrames.Timeout));

        Assert.Contains(mention, ex.Message, StringComparison.Ordinal);
        await server.WhenClosedAsync();
        Assert.Equal(ex.Message, server.CloseReason);
        Assert.Null(await FrameReader.ReadFrameAsync(client).AsTask().WaitAsync(TestFrames.Timeout));
    }

    [Fact]
    public async Task Endpoints_mirror_each_other()
    {
        var (client, server) = await ConnectAsync();

        Assert.Equal(Listener.LocalEndPoint, client.RemoteEndPoint);
        Assert.Equal(Listener.LocalEndPoint, server.LocalEndPoint);
        Assert.NotNull(client.LocalEndPoint);
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
    }

    [Fact]
    public async Task Disposed_listener_stops_accepting_and_refuses_new_connections()
    {
        var endPoint = Listener.LocalEndPoint;
        var pendingAccept = Listener.AcceptAsync().AsTask();

        await Listener.DisposeAsync();

        Assert.Null(await pendingAccept.WaitAsync(TestFrames.Timeout));
        Assert.Null(await Listener.AcceptAsync().AsTask().WaitAsync(TestFrames.Timeout));
        var ex = await Assert.ThrowsAsync<SocketException>(
            () => Factory.ConnectAsync(endPoint).AsTask().WaitAsync(TestFrames.Timeout));
        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
    }

    [Fact]
    public async Task Closed_fires_on_both_sides_after_dispose()
    {
        var (client, server) = await ConnectAsync();
        Assert.False(client.Closed.IsCancellationRequested);
        Assert.Null(client.CloseReason);

        await client.DisposeAsync().AsTask().WaitAsync(TestFrames.Timeout);

        await client.WhenClosedAsync();
        await server.WhenClosedAsync();
        Assert.NotNull(server.CloseReason);
    }
}
