using System;
using System.IO;

namespace Lockstep.Transport;

/// <summary>
/// The connection ended (aborted, reset, or closed by the peer in the middle of a frame) before the operation could
/// complete. Unlike <see cref="Protocol.KafkaProtocolException"/>, this says nothing about the bytes received: a client
/// treats it as a retriable network error (Kafka's Java client maps it to a disconnect, cf. NetworkClient).
/// </summary>
public sealed class ConnectionClosedException : IOException
{
    /// <summary>Creates the exception; <paramref name="message"/> is usually the connection's close reason.</summary>
    public ConnectionClosedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception around the transport error that closed the connection.</summary>
    public ConnectionClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message; prefer the overloads that carry the reason.</summary>
    public ConnectionClosedException()
        : base("The connection was closed.")
    {
    }
}
