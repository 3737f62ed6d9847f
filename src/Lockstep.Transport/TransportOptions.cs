namespace Lockstep.Transport;

/// <summary>
/// Buffering limits shared by every transport. Both pipes of a connection are bounded (style-guide.md §3.8: bound
/// every queue): a slow reader pauses the sender instead of growing memory without limit.
/// </summary>
public class TransportOptions
{
    /// <summary>
    /// Bytes received but not yet consumed by the application before the receive loop stops reading from the
    /// transport (the pipe's pause threshold; it resumes at half). Default 1 MiB. A frame larger than this still
    /// arrives: <see cref="FrameReader.ReadFrameAsync(IConnection, int, System.Threading.CancellationToken)"/> streams
    /// it out of the pipe. Code that waits for a whole frame with <see cref="FrameReader.TryReadFrame(ref
    /// System.Buffers.ReadOnlySequence{byte}, int, out System.Buffers.ReadOnlySequence{byte})"/> must set this above
    /// its maximum frame size, or it deadlocks on a larger frame.
    /// </summary>
    public long MaxInputBufferBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Bytes written by the application but not yet sent before <see cref="System.IO.Pipelines.PipeWriter.FlushAsync"/>
    /// waits (the pause threshold; it resumes at half). Default 1 MiB.
    /// </summary>
    public long MaxOutputBufferBytes { get; init; } = 1024 * 1024;

    /// <summary>The defaults, shared.</summary>
    public static TransportOptions Default { get; } = new();
}
