using System.Buffers.Binary;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Transport;

namespace Lockstep.Broker.Tests.Harness;

/// <summary>
/// A minimal Kafka client for broker tests: sends one typed request at a given version and decodes the typed
/// response, checking the correlation id. No retries, no metadata: exactly the bytes a test asks for.
/// </summary>
public sealed class RawKafkaClient : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly IConnection _connection;
    private readonly string _clientId;
    private int _correlationId;

    internal RawKafkaClient(IConnection connection, string clientId)
    {
        _connection = connection;
        _clientId = clientId;
    }

    /// <summary>The underlying connection (tests use it to write raw bytes).</summary>
    public IConnection Connection => _connection;

    /// <summary>Sends <paramref name="request"/> at <paramref name="version"/> and returns the decoded response.</summary>
    public async Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, short version)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaMessage<TResponse>
    {
        var correlationId = await WriteAsync<TRequest, TResponse>(request, version);
        return await ReadResponseAsync<TResponse>(TRequest.ApiKey, version, correlationId);
    }

    /// <summary>Writes a request without waiting for its response (pipelining, acks=0); returns its correlation id.</summary>
    public async Task<int> WriteAsync<TRequest, TResponse>(TRequest request, short version)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaMessage<TResponse>
    {
        var correlationId = Interlocked.Increment(ref _correlationId);
        var header = new RequestHeader
        {
            RequestApiKey = (short)TRequest.ApiKey,
            RequestApiVersion = version,
            CorrelationId = correlationId,
            ClientId = _clientId,
        };
        var headerVersion = ApiMessages.RequestHeaderVersion(TRequest.ApiKey, version);
        FrameWriter.WriteFrame(
            _connection.Output,
            (header, request, headerVersion, version),
            static (body, s) =>
            {
                var writer = new KafkaWriter(body);
                s.header.Write(ref writer, s.headerVersion);
                s.request.Write(ref writer, s.version);
                writer.Flush();
            });
        await _connection.Output.FlushAsync().AsTask().WaitAsync(Timeout);
        return correlationId;
    }

    /// <summary>Reads the next response frame and decodes it as <typeparamref name="TResponse"/>.</summary>
    public async Task<TResponse> ReadResponseAsync<TResponse>(ApiKey apiKey, short version, int expectedCorrelationId)
        where TResponse : IKafkaMessage<TResponse>
    {
        using var frame = await FrameReader.ReadFrameAsync(_connection).AsTask().WaitAsync(Timeout)
            ?? throw new InvalidOperationException("The broker closed the connection.");
        return Decode<TResponse>(frame.Memory, apiKey, version, expectedCorrelationId);
    }

    private static TResponse Decode<TResponse>(ReadOnlyMemory<byte> frame, ApiKey apiKey, short version, int expectedCorrelationId)
        where TResponse : IKafkaMessage<TResponse>
    {
        var reader = new KafkaReader(frame);
        var header = ResponseHeader.Read(ref reader, ApiMessages.ResponseHeaderVersion(apiKey, version));
        if (header.CorrelationId != expectedCorrelationId)
        {
            throw new InvalidOperationException($"Correlation id {header.CorrelationId}, expected {expectedCorrelationId}.");
        }

        var response = TResponse.Read(ref reader, version);
        reader.ExpectEnd(typeof(TResponse).Name);
        return response;
    }

    /// <summary>Writes raw bytes (for malformed-input tests).</summary>
    public async Task WriteRawAsync(byte[] bytes)
    {
        await _connection.Output.WriteAsync(bytes);
        await _connection.Output.FlushAsync();
    }

    /// <summary>True once the broker has closed this connection (waits up to the timeout).</summary>
    public async Task<bool> WaitForCloseAsync()
    {
        try
        {
            while (true)
            {
                using var frame = await FrameReader.ReadFrameAsync(_connection).AsTask().WaitAsync(Timeout);
                if (frame is null)
                {
                    return true;
                }
            }
        }
        catch (ConnectionClosedException)
        {
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Encodes a 4-byte big-endian size prefix (helper for raw frames).</summary>
    public static byte[] SizePrefix(int size)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, size);
        return bytes;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
