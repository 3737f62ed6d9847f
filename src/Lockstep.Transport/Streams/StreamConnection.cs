using System;
using System.Buffers;
using System.IO;
using System.Net;
using System.Threading;
using System.Threading.Tasks;

namespace Lockstep.Transport.Streams;

/// <summary>
/// A connection over any duplex <see cref="Stream"/>, with the same loops and lifecycle as the socket transport.
/// This is the seam for TLS: wrap an accepted or connected socket in <c>new SslStream(new NetworkStream(socket,
/// ownsSocket: true))</c>, authenticate, and hand the stream to <see cref="Create"/>.
/// </summary>
public static class StreamConnection
{
    /// <summary>Starts a connection over <paramref name="stream"/>, which it owns and disposes when closed.</summary>
    /// <param name="stream">A readable, writable stream; reads return 0 at end of stream.</param>
    /// <param name="localEndPoint">Reported as <see cref="IConnection.LocalEndPoint"/>.</param>
    /// <param name="remoteEndPoint">Reported as <see cref="IConnection.RemoteEndPoint"/>.</param>
    /// <param name="options">Pipe limits; <see cref="TransportOptions.Default"/> if null.</param>
    /// <returns>The running connection.</returns>
    public static IConnection Create(
        Stream stream, EndPoint? localEndPoint, EndPoint? remoteEndPoint, TransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanWrite)
        {
            throw new ArgumentException("The stream must be readable and writable.", nameof(stream));
        }

        var connection = new Connection(stream, localEndPoint, remoteEndPoint, options ?? TransportOptions.Default);
        connection.Start();
        return connection;
    }

    private sealed class Connection(Stream stream, EndPoint? local, EndPoint? remote, TransportOptions options)
        : DuplexPipeConnection(local, remote, options)
    {
        protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            stream.ReadAsync(buffer, cancellationToken);

        protected override async ValueTask SendAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
        {
            foreach (var segment in data)
            {
                await stream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            }

            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        // Not every stream honours cancellation of a pending read; disposing it does wake the read.
        protected override void OnShutdown() => stream.Dispose();

        protected override ValueTask CloseTransportAsync() => stream.DisposeAsync();
    }
}
