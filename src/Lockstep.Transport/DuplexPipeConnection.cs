using System;
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport;

/// <summary>
/// The transport-independent half of every connection: Kestrel's two loops (transport → input pipe with flush
/// back-pressure, output pipe → transport) and the once-only shutdown (style-guide.md §3.8; cf. Kestrel's
/// SocketConnection.DoReceive/DoSend/Shutdown). A subclass supplies only receive, send and close of its byte stream,
/// which is how sockets, in-memory wires and (later) TLS streams share one lifecycle.
/// </summary>
/// <remarks>
/// Invariants:
/// <list type="bullet">
/// <item>Only the receive loop touches <c>_input.Writer</c> and the transport's receive side; only the send loop
/// touches <c>_output.Reader</c> and the transport's send side. Other threads wake them with thread-safe calls
/// (cancellation, CancelPendingFlush, CancelPendingRead), never by completing their pipe ends.</item>
/// <item><see cref="CloseReason"/> is written once, under <c>_shutdownLock</c>; the first reason wins.</item>
/// <item><see cref="Closed"/> fires after both loops have ended and <see cref="CloseTransportAsync"/> has run.</item>
/// </list>
/// </remarks>
internal abstract class DuplexPipeConnection : IConnection
{
    // Kestrel's socket transport asks for at least this much free space per receive.
    private const int MinReceiveBufferBytes = 4096;

    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly CancellationTokenSource _abortCts = new();
    private readonly CancellationTokenSource _closedCts = new();

    // Guards the one-time transition to shut down. Held only to set the reason; the wake-ups run outside it.
    private readonly Lock _shutdownLock = new();
    private string? _closeReason;
    private Task _processing = Task.CompletedTask;

    protected DuplexPipeConnection(EndPoint? localEndPoint, EndPoint? remoteEndPoint, TransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;

        // Both schedulers are the thread pool: the application's continuations never run on the transport's loop
        // (no stack dives, no deadlock if the application blocks), and the SynchronizationContext of whoever
        // created the connection (e.g. a test runner) is ignored.
        _input = new Pipe(CreatePipeOptions(options.MaxInputBufferBytes));
        _output = new Pipe(CreatePipeOptions(options.MaxOutputBufferBytes));
    }

    /// <inheritdoc />
    public PipeReader Input => _input.Reader;

    /// <inheritdoc />
    public PipeWriter Output => _output.Writer;

    /// <inheritdoc />
    public EndPoint? LocalEndPoint { get; }

    /// <inheritdoc />
    public EndPoint? RemoteEndPoint { get; }

    /// <inheritdoc />
    public CancellationToken Closed => _closedCts.Token;

    /// <inheritdoc />
    public string? CloseReason
    {
        get
        {
            lock (_shutdownLock)
            {
                return _closeReason;
            }
        }
    }

    /// <summary>Starts both loops. Called once by the creator, after the subclass is fully constructed.</summary>
    internal void Start() => _processing = RunAsync();

    /// <inheritdoc />
    public void Abort(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        Shutdown(reason);
    }

    /// <summary>
    /// Graceful close: completes the application's ends of both pipes, so everything already written is sent
    /// before the transport closes, then waits for the loops. If the peer has stopped reading, this waits for it
    /// like a TCP close would; call <see cref="Abort"/> first to discard unsent output.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
#pragma warning disable VSTHRD003 // _processing is this object's own loop task, started in Start().
        await _processing.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        _abortCts.Dispose();
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes; returns 0 at end of stream. Throws on error or
    /// when <paramref name="cancellationToken"/> (the abort token) fires.</summary>
    protected abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Sends every byte of <paramref name="data"/>. Throws on error or when the abort token fires.</summary>
    protected abstract ValueTask SendAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Called once, from any thread, at the moment of shutdown, after the abort token fired. Must be thread-safe;
    /// use it to force-wake a transport whose operations ignore cancellation (e.g. dispose a socket).
    /// </summary>
    protected virtual void OnShutdown()
    {
    }

    /// <summary>Called once after both loops ended: release the transport and tell the peer (end of stream).</summary>
    protected abstract ValueTask CloseTransportAsync();

    /// <summary>Describes a transport error for <see cref="CloseReason"/>.</summary>
    protected virtual string DescribeError(Exception error) =>
        $"Transport error: {error.GetType().Name}: {error.Message}";

    private static PipeOptions CreatePipeOptions(long pauseThreshold) => new(
        pauseWriterThreshold: pauseThreshold,
        resumeWriterThreshold: pauseThreshold / 2,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        useSynchronizationContext: false);

    private async Task RunAsync()
    {
        // Task.Run so that neither loop's synchronous prefix runs on the creator's stack.
        var receive = Task.Run(ReceiveLoopAsync);
        var send = Task.Run(SendLoopAsync);
        await Task.WhenAll(receive, send).ConfigureAwait(false);

        // Both loops call Shutdown on every exit path except "the application completed Input", so this only
        // supplies a reason when the send loop was the last to go for that reason.
        Shutdown("The connection was closed.");
        try
        {
            await CloseTransportAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Closing an already-broken transport may throw anything; the connection is gone.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        // Kestrel fires ConnectionClosed on the thread pool so user callbacks never run on the transport's path.
        ThreadPool.UnsafeQueueUserWorkItem(static cts => cts.Cancel(), _closedCts, preferLocal: false);
    }

    private async Task ReceiveLoopAsync()
    {
        var writer = _input.Writer;
        var endOfStream = false;
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(MinReceiveBufferBytes);
                var received = await ReceiveAsync(memory, _abortCts.Token).ConfigureAwait(false);
                if (received == 0)
                {
                    // Kafka has no half-close: end of stream from the peer ends the connection, but what it sent
                    // before closing stays readable (the input completes without an error).
                    endOfStream = true;
                    Shutdown("The peer closed the connection.");
                    break;
                }

                writer.Advance(received);

                // Back-pressure: this waits while MaxInputBufferBytes are unconsumed. Shutdown wakes it with
                // CancelPendingFlush; IsCompleted means the application completed Input and wants no more bytes.
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
#pragma warning disable CA1031 // Every transport failure becomes the close reason; nothing escapes the loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (!_abortCts.IsCancellationRequested)
            {
                Shutdown(DescribeError(ex));
                error = ex;
            }
        }
        finally
        {
            if (!endOfStream && _abortCts.IsCancellationRequested)
            {
                var reason = CloseReason ?? "The connection was closed.";
                error = error is null
                    ? new ConnectionClosedException(reason)
                    : new ConnectionClosedException(reason, error);
            }

            await writer.CompleteAsync(error).ConfigureAwait(false);
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                // No token: Shutdown wakes this with CancelPendingRead.
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    await SendAsync(buffer, _abortCts.Token).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    // The application completed Output and everything it wrote is sent: close (Kestrel does the
                    // same, "The application completed the output").
                    Shutdown("The application completed its output.");
                    break;
                }
            }
        }
#pragma warning disable CA1031 // Every transport failure becomes the close reason; nothing escapes the loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (!_abortCts.IsCancellationRequested)
            {
                Shutdown(DescribeError(ex));
                error = ex;
            }
        }
        finally
        {
            // Completing the reader with an exception makes the application's next FlushAsync throw it, so a
            // session writing a response to a dead connection learns why.
            var reason = CloseReason ?? "The connection was closed.";
            var closed = error is null
                ? new ConnectionClosedException(reason)
                : new ConnectionClosedException(reason, error);
            await reader.CompleteAsync(closed).ConfigureAwait(false);
        }
    }

    private void Shutdown(string reason)
    {
        lock (_shutdownLock)
        {
            if (_closeReason is not null)
            {
                return;
            }

            _closeReason = reason;
        }

        // Wake both loops with thread-safe calls; each loop completes its own pipe end.
        _abortCts.Cancel();
        _input.Writer.CancelPendingFlush();
        _output.Reader.CancelPendingRead();
        OnShutdown();
    }
}
