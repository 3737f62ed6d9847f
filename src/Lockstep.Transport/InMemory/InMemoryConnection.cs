using System;
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport.InMemory;

/// <summary>
/// One end of an in-memory connection. The two ends are joined by two bounded "wire" pipes standing in for the
/// sockets' kernel buffers, and each end runs the same two loops as a socket connection. So end of stream, abort,
/// back-pressure and close reasons behave as over TCP (the parity tests run one suite against both), and a future
/// simulation can delay or drop bytes on the wire (cf. Kestrel's in-memory transport, kfake's VirtualNetwork).
/// </summary>
internal sealed class InMemoryConnection : DuplexPipeConnection
{
    // About a loopback socket's kernel buffer: enough to pipeline, small enough that back-pressure is real.
    private const long WireBufferBytes = 64 * 1024;

    // Receive side of the wire: only the receive loop reads it. Send side: only the send loop writes it.
    private readonly PipeReader _wireIn;
    private readonly PipeWriter _wireOut;

    private InMemoryConnection(
        EndPoint localEndPoint,
        EndPoint remoteEndPoint,
        PipeReader wireIn,
        PipeWriter wireOut,
        TransportOptions options)
        : base(localEndPoint, remoteEndPoint, options)
    {
        _wireIn = wireIn;
        _wireOut = wireOut;
    }

    /// <summary>Creates both ends of a connection, not yet started.</summary>
    internal static (InMemoryConnection Client, InMemoryConnection Server) CreatePair(
        EndPoint clientEndPoint, EndPoint serverEndPoint, TransportOptions options)
    {
        var clientToServer = new Pipe(WireOptions());
        var serverToClient = new Pipe(WireOptions());
        var client = new InMemoryConnection(
            clientEndPoint, serverEndPoint, serverToClient.Reader, clientToServer.Writer, options);
        var server = new InMemoryConnection(
            serverEndPoint, clientEndPoint, clientToServer.Reader, serverToClient.Writer, options);
        return (client, server);
    }

    protected override async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _wireIn.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            if (!data.IsEmpty)
            {
                var count = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, count).CopyTo(buffer.Span);
                _wireIn.AdvanceTo(data.GetPosition(count));
                return count;
            }

            _wireIn.AdvanceTo(data.End);
            if (result.IsCompleted)
            {
                return 0;
            }
        }
    }

    protected override async ValueTask SendAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        foreach (var segment in data)
        {
            _wireOut.Write(segment.Span);
        }

        var flush = await _wireOut.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (flush.IsCompleted)
        {
            // The peer's receive side is gone; TCP would answer with a reset (EPIPE/ECONNRESET).
            throw new ConnectionClosedException("Connection reset: the peer closed its receive side.");
        }
    }

    protected override async ValueTask CloseTransportAsync()
    {
        // The peer's receive loop sees end of stream; its send loop sees a completed reader.
        await _wireOut.CompleteAsync().ConfigureAwait(false);
        await _wireIn.CompleteAsync().ConfigureAwait(false);
    }

    private static PipeOptions WireOptions() => new(
        pauseWriterThreshold: WireBufferBytes,
        resumeWriterThreshold: WireBufferBytes / 2,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        useSynchronizationContext: false);
}
