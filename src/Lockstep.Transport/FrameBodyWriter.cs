using System.Buffers;

namespace Lockstep.Transport;

/// <summary>
/// Writes one frame's payload (request or response header plus body) for
/// <see cref="FrameWriter.WriteFrame{TState}(IBufferWriter{byte}, TState, FrameBodyWriter{TState})"/>, typically
/// through <c>new KafkaWriter(body)</c> followed by <c>Flush()</c>.
/// </summary>
/// <typeparam name="TState">Whatever the payload is written from; may be a ref struct, so callers can pass state
/// without a closure allocation.</typeparam>
/// <param name="body">Where the payload goes.</param>
/// <param name="state">The caller's state.</param>
public delegate void FrameBodyWriter<TState>(IBufferWriter<byte> body, TState state)
    where TState : allows ref struct;
