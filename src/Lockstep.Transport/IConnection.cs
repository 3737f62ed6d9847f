using System;
using System.IO.Pipelines;
using System.Net;
using System.Threading;

namespace Lockstep.Transport;

/// <summary>
/// One duplex byte stream to a peer, exposed as a pair of pipes (the Kestrel transport shape). Kafka frames are read
/// from <see cref="Input"/> with <see cref="FrameReader"/> and written to <see cref="Output"/> with
/// <see cref="FrameWriter"/>.
/// </summary>
/// <remarks>
/// <para>Lifecycle. The connection shuts down exactly once, for the first of: <see cref="Abort"/>, a transport error,
/// the peer closing its side, or the application completing <see cref="Output"/>. The first reason is kept in
/// <see cref="CloseReason"/>; later reasons are ignored. After shutdown, reads from <see cref="Input"/> and flushes to
/// <see cref="Output"/> throw <see cref="ConnectionClosedException"/>, except that when the peer closed cleanly the
/// bytes it sent before closing stay readable and <see cref="Input"/> then reports completion.</para>
/// <para>Threading. Like any pipe, <see cref="Input"/> has one reader and <see cref="Output"/> one writer at a time;
/// a session that writes responses from several tasks must serialise its writes. <see cref="Abort"/> and
/// <see cref="CloseReason"/> are thread-safe.</para>
/// </remarks>
public interface IConnection : IAsyncDisposable
{
    /// <summary>Bytes received from the peer. Consume them promptly: unconsumed bytes pause the transport's receive
    /// loop once <see cref="TransportOptions.MaxInputBufferBytes"/> is reached (back-pressure, style-guide §3.8).
    /// </summary>
    PipeReader Input { get; }

    /// <summary>Bytes to send to the peer. <see cref="PipeWriter.FlushAsync"/> waits while more than
    /// <see cref="TransportOptions.MaxOutputBufferBytes"/> are queued. Completing it closes the connection once
    /// everything written has been sent (Kafka has no half-close).</summary>
    PipeWriter Output { get; }

    /// <summary>This side's address: an <see cref="IPEndPoint"/> for sockets, an
    /// <see cref="InMemory.InMemoryEndPoint"/> (or the caller's fake endpoint) in memory.</summary>
    EndPoint? LocalEndPoint { get; }

    /// <summary>The peer's address; equals the peer connection's <see cref="LocalEndPoint"/>.</summary>
    EndPoint? RemoteEndPoint { get; }

    /// <summary>
    /// Cancelled after the connection has shut down and both transport loops have finished, so
    /// <see cref="CloseReason"/> is set and <see cref="Input"/> has been completed by then. Callbacks run on the
    /// thread pool, never inline inside <see cref="Abort"/>.
    /// </summary>
    CancellationToken Closed { get; }

    /// <summary>Why the connection shut down (first reason wins); null while it is open.</summary>
    string? CloseReason { get; }

    /// <summary>
    /// Closes the connection now, discarding unsent output, and records <paramref name="reason"/> unless a reason
    /// was already recorded. Pending reads and flushes on this side fail with
    /// <see cref="ConnectionClosedException"/>; the peer sees end of stream. Idempotent and thread-safe.
    /// </summary>
    /// <param name="reason">A sentence for logs, e.g. "Frame size 104857601 exceeds socket.request.max.bytes".</param>
    void Abort(string reason);
}
