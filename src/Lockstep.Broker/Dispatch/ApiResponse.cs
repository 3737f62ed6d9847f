using System.Buffers;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Broker.Dispatch;

/// <summary>A response body waiting to be framed and written by the session, in request order.</summary>
internal abstract class ApiResponse
{
    /// <summary>Writes the response header and body (without the size prefix).</summary>
    public abstract void Write(IBufferWriter<byte> output, RequestContext context);
}

/// <summary>A typed response: header version from <see cref="ApiMessages.ResponseHeaderVersion"/>, body at the
/// request's version.</summary>
/// <typeparam name="TResponse">The generated response type.</typeparam>
internal sealed class ApiResponse<TResponse>(TResponse body) : ApiResponse
    where TResponse : IKafkaMessage<TResponse>
{
    /// <summary>The response body.</summary>
    public TResponse Body { get; } = body;

    /// <inheritdoc />
    public override void Write(IBufferWriter<byte> output, RequestContext context)
    {
        var writer = new KafkaWriter(output);
        new ResponseHeader { CorrelationId = context.CorrelationId }
            .Write(ref writer, ApiMessages.ResponseHeaderVersion(context.ApiKey, context.ApiVersion));
        Body.Write(ref writer, context.ApiVersion);
        writer.Flush();
    }
}
