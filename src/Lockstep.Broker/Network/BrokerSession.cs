using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Transport;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker.Network;

/// <summary>
/// One client connection: reads request frames, dispatches them and writes the responses in request order.
/// </summary>
/// <remarks>
/// <para><b>Pipelining.</b> Two loops. The read loop decodes a frame and calls the handler, then queues the
/// handler's (possibly still running) task; the write loop awaits those tasks strictly in queue order and writes
/// each response. So responses leave in request order (Kafka's contract) while, for example, the fsync of produce
/// request N overlaps the append of request N+1. The read loop starts request N+1 only after handler N
/// <em>returned</em>; see <see cref="IApiHandler"/> for why that keeps appends ordered.</para>
/// <para><b>Bounds.</b> At most <see cref="MaxInFlight"/> requests are queued per connection; the read loop waits
/// when the queue is full, which in turn stops reading the socket (TCP back-pressure).</para>
/// <para><b>Failure.</b> A malformed frame, an unknown API key or an unsupported version (except ApiVersions, which
/// answers UNSUPPORTED_VERSION so clients can downgrade, KIP-511) is logged and closes this connection only, as
/// Kafka's <c>SocketServer</c> does.</para>
/// </remarks>
internal sealed partial class BrokerSession
{
    /// <summary>Queued requests per connection before the session stops reading.</summary>
    public const int MaxInFlight = 64;

    private readonly IConnection _connection;
    private readonly HandlerRegistry _handlers;
    private readonly BrokerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _maxFrameBytes;
    private readonly long _connectionId;
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(
        new BoundedChannelOptions(MaxInFlight) { SingleReader = true, SingleWriter = true });

    /// <summary>Creates a session; <see cref="RunAsync"/> serves it until the connection ends.</summary>
    public BrokerSession(
        IConnection connection,
        long connectionId,
        HandlerRegistry handlers,
        BrokerMetrics metrics,
        int maxFrameBytes,
        ILogger logger)
    {
        _connection = connection;
        _connectionId = connectionId;
        _handlers = handlers;
        _metrics = metrics;
        _maxFrameBytes = maxFrameBytes;
        _logger = logger;
    }

    private readonly record struct Pending(RequestContext Context, ValueTask<ApiResponse?> Response, long StartTimestamp);

    /// <summary>Serves the connection until the peer closes it, it fails, or <paramref name="cancellationToken"/>
    /// (broker shutdown) fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _connection.Closed);
        var writeLoop = WriteLoopAsync(linked.Token);
        try
        {
            await ReadLoopAsync(linked.Token).ConfigureAwait(false);
        }
        finally
        {
            _queue.Writer.TryComplete();
            await writeLoop.ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using var frame = await FrameReader
                    .ReadFrameAsync(_connection, _maxFrameBytes, cancellationToken)
                    .ConfigureAwait(false);
                if (frame is null)
                {
                    return; // Clean close between frames.
                }

                _metrics.BytesIn(frame.Length + FrameReader.SizePrefixLength);
                if (!TryDispatch(frame.Memory, cancellationToken, out var pending))
                {
                    return;
                }

                if (pending is { } p)
                {
                    await _queue.Writer.WriteAsync(p, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (KafkaProtocolException e)
        {
            LogMalformed(_connectionId, _connection.RemoteEndPoint?.ToString(), e.Message);
            _connection.Abort("malformed request: " + e.Message);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ConnectionClosedException)
        {
        }
    }

    /// <summary>
    /// Parses the header and starts the handler. Returns false when the connection must close. Runs synchronously:
    /// the frame's memory is released when the caller's <c>using</c> ends, so nothing here may keep it beyond the
    /// handler's synchronous part except through copies the handler makes (see ARCHITECTURE.md, Non-obvious).
    /// </summary>
    private bool TryDispatch(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken, out Pending? pending)
    {
        pending = null;
        if (frame.Length < 4)
        {
            throw new KafkaProtocolException($"Request frame of {frame.Length} bytes is too short for a header.");
        }

        var span = frame.Span;
        var apiKey = (ApiKey)(short)((span[0] << 8) | span[1]);
        var apiVersion = (short)((span[2] << 8) | span[3]);
        if (!ApiMessages.TryGet(apiKey, out _))
        {
            LogRejected(_connectionId, (short)apiKey, apiVersion, "unknown API key");
            _connection.Abort($"unknown API key {(short)apiKey}");
            return false;
        }

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader, ApiMessages.RequestHeaderVersion(apiKey, apiVersion));
        var context = new RequestContext(
            apiKey, apiVersion, header.CorrelationId, header.ClientId, _connectionId, _connection.RemoteEndPoint);
        var start = Stopwatch.GetTimestamp();

        if (!_handlers.IsSupported(apiKey, apiVersion))
        {
            if (apiKey == ApiKey.ApiVersions)
            {
                // KIP-511 / client-compat.md trap 1: answer a too-new ApiVersions with a v0 body carrying
                // UNSUPPORTED_VERSION and our ranges, so the client retries with a version we support.
                var downgrade = context with { ApiVersion = 0 };
                pending = new Pending(
                    downgrade,
                    ValueTask.FromResult<ApiResponse?>(Handlers.ApiVersionsHandler.UnsupportedVersion(_handlers)),
                    start);
                return true;
            }

            LogRejected(_connectionId, (short)apiKey, apiVersion, "unsupported version");
            _connection.Abort($"unsupported version {apiVersion} of {apiKey}");
            return false;
        }

        _handlers.TryGet(apiKey, out var handler);
        ValueTask<ApiResponse?> response;
        try
        {
            // Pass the body as a copy-free slice: handlers decode it synchronously before their first await, and
            // generated messages that keep bytes (RECORDS) get a slice the handler must copy before awaiting.
            response = handler!.HandleAsync(context, frame[reader.Position..], cancellationToken);
        }
        catch (KafkaProtocolException)
        {
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogHandlerFailure(_connectionId, apiKey.ToString(), e);
            _connection.Abort($"internal error serving {apiKey}");
            return false;
        }

        pending = new Pending(context, response, start);
        return true;
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var pending))
                {
                    ApiResponse? response;
                    try
                    {
                        response = await pending.Response.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    catch (Exception e)
                    {
                        LogHandlerFailure(_connectionId, pending.Context.ApiKey.ToString(), e);
                        _connection.Abort($"internal error serving {pending.Context.ApiKey}");
                        return;
                    }

                    _metrics.RequestCompleted(pending.Context.ApiKey, Stopwatch.GetElapsedTime(pending.StartTimestamp));
                    if (response is null)
                    {
                        continue; // acks=0 produce: Kafka sends no response frame.
                    }

                    int written;
                    try
                    {
                        written = FrameWriter.WriteFrame(
                            _connection.Output,
                            (response, pending.Context),
                            static (body, state) => state.response.Write(body, state.Context));
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // A response the version cannot carry is a broker bug. Close at once: a silent stall
                        // would leave the client waiting out its request timeout (FINDINGS.md, ListOffsets v2).
                        LogHandlerFailure(_connectionId, pending.Context.ApiKey + " response encoding", e);
                        _connection.Abort($"internal error encoding the {pending.Context.ApiKey} response");
                        return;
                    }

                    _metrics.BytesOut(written + FrameReader.SizePrefixLength);

                    // Flush when nothing else is ready, so back-to-back responses share one socket write.
                    if (!reader.TryPeek(out _))
                    {
                        var flush = await _connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                        if (flush.IsCompleted || flush.IsCanceled)
                        {
                            return;
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionClosedException or ObjectDisposedException)
        {
        }
        finally
        {
            // Drain so that no handler task is left unobserved.
            while (reader.TryRead(out var leftover))
            {
                _ = ObserveAsync(leftover.Response);
            }
        }
    }

    private static async Task ObserveAsync(ValueTask<ApiResponse?> response)
    {
        try
        {
            await response.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection is gone; the failure was logged where it mattered or is irrelevant now.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId} from {Remote}: malformed request, closing: {Reason}")]
    private partial void LogMalformed(long connectionId, string? remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: rejected API key {ApiKey} v{ApiVersion} ({Reason}), closing")]
    private partial void LogRejected(long connectionId, short apiKey, short apiVersion, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Connection {ConnectionId}: handler for {Api} failed, closing")]
    private partial void LogHandlerFailure(long connectionId, string api, Exception exception);
}
