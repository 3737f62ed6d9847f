using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Transport;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client.Internal;

/// <summary>
/// One connection to one broker: correlation ids, pipelining (many requests in flight, responses matched in send
/// order — Kafka answers requests of a connection strictly in order), request timeouts, and the ApiVersions
/// handshake that fixes which versions may be sent on it.
/// </summary>
/// <remarks>
/// <para>Invariants: <c>_pending</c> holds exactly the requests written and not yet answered, in write order;
/// entries are enqueued under <c>_writeLock</c> together with their bytes, so queue order equals wire order. Only the
/// read loop dequeues.</para>
/// <para>Failure: any transport error, an unmatched correlation id or a timed-out request shuts the connection down
/// (a lost response would desynchronise every later one); all pending requests then fail with
/// <see cref="KafkaRetriableException"/> (NETWORK_EXCEPTION) and the owner reconnects with back-off.</para>
/// </remarks>
internal sealed class BrokerConnection : IAsyncDisposable
{
    private const string ClientSoftwareName = "lockstep-dotnet";
    private const string ClientSoftwareVersion = "0.1.0";

    private readonly IConnection _connection;
    private readonly string _clientId;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // Request encoding buffer, guarded by _writeLock (see WriteFrame). Larger ones are returned after use.
    private const int ScratchRetainLimitBytes = 1024 * 1024;
    private PooledBufferWriter _scratch = new(4096);
    private readonly Queue<PendingRequest> _pending = new();
    private readonly Lock _pendingLock = new();
    private int _nextCorrelationId;
    private Task _readLoop = Task.CompletedTask;
    private string? _closeReason;

    private BrokerConnection(
        int nodeId, EndPoint endPoint, IConnection connection, string clientId, TimeSpan requestTimeout,
        TimeProvider time, ILogger logger)
    {
        NodeId = nodeId;
        EndPoint = endPoint;
        _connection = connection;
        _clientId = clientId;
        _requestTimeout = requestTimeout;
        _time = time;
        _logger = logger;
    }

    public int NodeId { get; }

    public EndPoint EndPoint { get; }

    /// <summary>What the broker advertised on this connection (set by the handshake, before any other request).
    /// </summary>
    public ApiVersionTable Versions { get; private set; } = null!;

    public bool IsAlive => _closeReason is null;

    /// <summary>Requests written and not yet answered.</summary>
    public int InFlightCount
    {
        get
        {
            lock (_pendingLock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Connects and runs the ApiVersions handshake (KIP-511 fallback included).</summary>
    public static async Task<BrokerConnection> ConnectAsync(
        int nodeId, EndPoint endPoint, IConnectionFactory factory, KafkaClientOptions options, ILogger logger,
        CancellationToken cancellationToken)
    {
        using var setup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        setup.CancelAfter(options.SocketConnectionSetupTimeout);
        IConnection transport;
        try
        {
            transport = await factory.ConnectAsync(endPoint, setup.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new KafkaRetriableException(
                ErrorCode.NetworkException, $"Could not connect to broker {nodeId} at {endPoint}: {ex.Message}", ex);
        }

        var connection = new BrokerConnection(
            nodeId, endPoint, transport, options.ClientId, options.RequestTimeout, options.TimeProvider, logger);
        connection._readLoop = connection.ReadLoopAsync();
        try
        {
            await connection.HandshakeAsync(setup.Token).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>
    /// ApiVersions at our highest version; if the broker answers UNSUPPORTED_VERSION it sends a v0 body listing its
    /// ApiVersions range (KIP-511), and we retry at the highest version it supports.
    /// </summary>
    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        var version = ApiVersionsRequest.HighestSupportedVersion;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var request = new ApiVersionsRequest
            {
                ClientSoftwareName = ClientSoftwareName,
                ClientSoftwareVersion = ClientSoftwareVersion,
            };
            var frame = await SendRawAsync<ApiVersionsRequest, ApiVersionsResponse>(
                request, version, expectResponse: true, cancellationToken).ConfigureAwait(false);
            var body = BodyAfterHeader(frame!, ApiKey.ApiVersions, version);

            // ErrorCode is the first field in every ApiVersions response version.
            if (body.Length >= 2 && BinaryPrimitives.ReadInt16BigEndian(body.Span) == (short)ErrorCode.UnsupportedVersion)
            {
                var reader = new KafkaReader(body);
                var fallback = ApiVersionsResponse.Read(ref reader, 0);
                var table = new ApiVersionTable(fallback);
                var next = table.Negotiate(ApiKey.ApiVersions, 0, ApiVersionsRequest.HighestSupportedVersion);
                if (next < 0 || next >= version)
                {
                    break;
                }

                Log.ApiVersionsFallback(_logger, NodeId, version, next);
                version = next;
                continue;
            }

            var bodyReader = new KafkaReader(body);
            var response = ApiVersionsResponse.Read(ref bodyReader, version);
            if (response.ErrorCode != 0)
            {
                throw KafkaException.FromErrorCode((ErrorCode)response.ErrorCode, $"ApiVersions to broker {NodeId}");
            }

            Versions = new ApiVersionTable(response);
            return;
        }

        throw new KafkaException(ErrorCode.UnsupportedVersion,
            $"Broker {NodeId} at {EndPoint} supports no ApiVersions version this client can speak.");
    }

    /// <summary>
    /// Sends <paramref name="request"/> at <paramref name="version"/> (already negotiated by the caller) and decodes
    /// the response. With <paramref name="expectResponse"/> false (Produce with acks=0) it returns null once written.
    /// </summary>
    public async Task<TResponse?> SendAsync<TRequest, TResponse>(
        TRequest request, short version, bool expectResponse, CancellationToken cancellationToken)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : class, IKafkaMessage<TResponse>
    {
        var frame = await SendRawAsync<TRequest, TResponse>(request, version, expectResponse, cancellationToken)
            .ConfigureAwait(false);
        if (frame is null)
        {
            return null;
        }

        var body = BodyAfterHeader(frame, TRequest.ApiKey, version);
        var reader = new KafkaReader(body);
        var response = TResponse.Read(ref reader, version);
        return response;
    }

    /// <summary>
    /// Pipelining with a guaranteed wire order: completes once the request is written (so the caller can write the
    /// next one knowing it follows this one on the wire), and returns the task of its response.
    /// </summary>
    public async Task<Task<TResponse?>> WriteAsync<TRequest, TResponse>(
        TRequest request, short version, bool expectResponse, CancellationToken cancellationToken)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : class, IKafkaMessage<TResponse>
    {
        var pending = await WriteRequestAsync<TRequest, TResponse>(request, version, expectResponse, cancellationToken)
            .ConfigureAwait(false);
        return ReadAsync(pending, cancellationToken);

        async Task<TResponse?> ReadAsync(PendingRequest? written, CancellationToken token)
        {
            var frame = await AwaitResponseAsync(written, token).ConfigureAwait(false);
            if (frame is null)
            {
                return null;
            }

            var reader = new KafkaReader(BodyAfterHeader(frame, TRequest.ApiKey, version));
            return TResponse.Read(ref reader, version);
        }
    }

    private async Task<byte[]?> SendRawAsync<TRequest, TResponse>(
        TRequest request, short version, bool expectResponse, CancellationToken cancellationToken)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaMessage<TResponse>
    {
        var pending = await WriteRequestAsync<TRequest, TResponse>(request, version, expectResponse, cancellationToken)
            .ConfigureAwait(false);
        return await AwaitResponseAsync(pending, cancellationToken).ConfigureAwait(false);
    }

    private async Task<PendingRequest?> WriteRequestAsync<TRequest, TResponse>(
        TRequest request, short version, bool expectResponse, CancellationToken cancellationToken)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaMessage<TResponse>
    {
        ThrowIfClosed();
        var pending = expectResponse ? new PendingRequest(TRequest.ApiKey, version) : null;
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            var correlationId = unchecked(++_nextCorrelationId);
            var header = new RequestHeader
            {
                RequestApiKey = (short)TRequest.ApiKey,
                RequestApiVersion = version,
                CorrelationId = correlationId,
                ClientId = _clientId,
            };
            var headerVersion = ApiMessages.RequestHeaderVersion(TRequest.ApiKey, version);

            // Encode first: an encoding error (e.g. a non-default field the version lacks) must not leave a pending
            // entry without bytes on the wire.
            WriteFrame(header, headerVersion, request, version);
            if (pending is not null)
            {
                pending.CorrelationId = correlationId;
                lock (_pendingLock)
                {
                    _pending.Enqueue(pending);
                }

                // The read loop sets the close reason before draining _pending; checking after enqueueing means
                // either it drained our entry or we see the reason here — never an entry stranded until timeout.
                if (_closeReason is not null)
                {
                    FailPending(null);
                }
            }

            var flush = await _connection.Output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            if (flush.IsCompleted)
            {
                Shutdown("The broker stopped reading.");
            }
        }
        catch (Exception ex) when (ex is System.IO.IOException or InvalidOperationException or ObjectDisposedException)
        {
            Shutdown($"Write failed: {ex.Message}");
            throw Closed(ex);
        }
        finally
        {
            _writeLock.Release();
        }

        return pending;
    }

    /// <summary>
    /// Encodes the request into <c>_scratch</c>, then copies it behind its size prefix into ONE span of the output
    /// pipe. <c>FrameWriter.WriteFrame</c> copies through <c>IBufferWriter.Write</c>, which asks the pipe for spans
    /// without a size hint and so fills its default 4 KiB segments: a 1 MB Produce request took about 256 pipe
    /// segments, more than the pipe keeps pooled, and those <c>BufferSegment</c> objects were a quarter of the
    /// producer's allocated bytes (issue 5 profile, docs/benchmarks.md). With the size as hint the pipe rents one
    /// block of that size from the array pool. Called under <c>_writeLock</c>, which also guards <c>_scratch</c>.
    /// </summary>
    private void WriteFrame<TRequest>(RequestHeader header, short headerVersion, TRequest request, short version)
        where TRequest : IKafkaMessage<TRequest>
    {
        var scratch = _scratch;
        scratch.Clear();
        var writer = new KafkaWriter(scratch);
        header.Write(ref writer, headerVersion);
        request.Write(ref writer, version);
        writer.Flush();
        var payload = scratch.WrittenSpan;
        var output = _connection.Output;
        var span = output.GetSpan(FrameReader.SizePrefixLength + payload.Length);
        BinaryPrimitives.WriteInt32BigEndian(span, payload.Length);
        payload.CopyTo(span[FrameReader.SizePrefixLength..]);
        output.Advance(FrameReader.SizePrefixLength + payload.Length);
        if (scratch.WrittenCount > ScratchRetainLimitBytes)
        {
            // Don't pin a large buffer per idle connection: give it back and start small again.
            scratch.Dispose();
            _scratch = new PooledBufferWriter(4096);
        }
    }

    private async Task<byte[]?> AwaitResponseAsync(PendingRequest? pending, CancellationToken cancellationToken)
    {
        if (pending is null)
        {
            return null;
        }

        try
        {
            return await pending.Completion.Task.WaitAsync(_requestTimeout, _time, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Responses are ordered: without this one, every later response would be matched to the wrong request.
            Shutdown($"{pending.ApiKey} v{pending.Version} got no response within {_requestTimeout.TotalMilliseconds} ms " +
                "(request.timeout.ms).");
            throw new KafkaRetriableException(ErrorCode.RequestTimedOut,
                $"{pending.ApiKey} to broker {NodeId} timed out after {_requestTimeout.TotalMilliseconds} ms.");
        }
    }

    /// <summary>Skips the response header (checked by the read loop) and returns the body.</summary>
    private static ReadOnlyMemory<byte> BodyAfterHeader(byte[] frame, ApiKey apiKey, short version)
    {
        var reader = new KafkaReader(frame);
        _ = ResponseHeader.Read(ref reader, ApiMessages.ResponseHeaderVersion(apiKey, version));
        return frame.AsMemory(reader.Position);
    }

    private async Task ReadLoopAsync()
    {
        await Task.Yield();
        Exception? failure = null;
        try
        {
            while (true)
            {
                using var frame = await FrameReader.ReadFrameAsync(_connection, FrameReader.DefaultMaxFrameSize,
                    CancellationToken.None).ConfigureAwait(false);
                if (frame is null)
                {
                    failure = new ConnectionClosedException("The broker closed the connection.");
                    break;
                }

                if (frame.Length < 4)
                {
                    failure = new KafkaProtocolException("A response frame is shorter than its correlation id.");
                    break;
                }

                var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame.Span);
                PendingRequest? pending;
                lock (_pendingLock)
                {
                    _pending.TryDequeue(out pending);
                }

                if (pending is null || pending.CorrelationId != correlationId)
                {
                    failure = new KafkaProtocolException(
                        $"Response correlation id {correlationId} does not match the oldest request " +
                        $"({pending?.CorrelationId.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}).");
                    pending?.Completion.TrySetException(Closed(failure));
                    break;
                }

                // Copied out of the pooled frame: decoded responses (Fetch records) keep slices of these bytes.
                pending.Completion.TrySetResult(frame.Span.ToArray());
            }
        }
        catch (Exception ex)
        {
            // Whatever ended the loop, every pending request must fail now rather than wait for its timeout.
            failure = ex;
        }

        Shutdown(failure?.Message ?? "closed");
        FailPending(failure);
    }

    private void FailPending(Exception? cause)
    {
        while (true)
        {
            PendingRequest? pending;
            lock (_pendingLock)
            {
                if (!_pending.TryDequeue(out pending))
                {
                    return;
                }
            }

            pending.Completion.TrySetException(Closed(cause));
        }
    }

    private KafkaRetriableException Closed(Exception? cause) =>
        new(ErrorCode.NetworkException,
            $"Connection to broker {NodeId} at {EndPoint} closed: {_closeReason ?? cause?.Message}", cause);

    private void ThrowIfClosed()
    {
        if (_closeReason is not null)
        {
            throw Closed(null);
        }
    }

    /// <summary>Closes the connection once; pending requests fail from the read loop.</summary>
    public void Shutdown(string reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, reason, null) is null)
        {
            Log.ConnectionClosing(_logger, NodeId, EndPoint, reason);
            _connection.Abort(reason);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Shutdown("disposed");
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        finally
        {
            FailPending(null);
            // _writeLock is not disposed: a concurrent sender may still be waiting on it and must see the
            // closed connection, not ObjectDisposedException.
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class PendingRequest(ApiKey apiKey, short version)
    {
        public ApiKey ApiKey { get; } = apiKey;

        public short Version { get; } = version;

        public int CorrelationId { get; set; }

        public TaskCompletionSource<byte[]> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
