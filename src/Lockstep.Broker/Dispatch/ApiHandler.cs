using System;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Broker.Dispatch;

/// <summary>
/// Base of every handler: decodes <typeparamref name="TRequest"/> (rejecting trailing bytes), calls
/// <see cref="HandleAsync(RequestContext, TRequest, CancellationToken)"/>, and wraps the typed response.
/// </summary>
/// <typeparam name="TRequest">The generated request type.</typeparam>
/// <typeparam name="TResponse">The generated response type.</typeparam>
internal abstract class ApiHandler<TRequest, TResponse> : IApiHandler
    where TRequest : IKafkaRequest<TRequest, TResponse>
    where TResponse : IKafkaMessage<TResponse>
{
    /// <inheritdoc />
    public ApiKey ApiKey => TRequest.ApiKey;

    /// <inheritdoc />
    public abstract short MinVersion { get; }

    /// <inheritdoc />
    public abstract short MaxVersion { get; }

    /// <inheritdoc />
    public ValueTask<ApiResponse?> HandleAsync(
        RequestContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var request = Decode(body, context.ApiVersion);
        var pending = HandleAsync(context, request, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            var response = pending.Result;
            return ValueTask.FromResult<ApiResponse?>(response is null ? null : new ApiResponse<TResponse>(response));
        }

        return AwaitAsync(pending);

        static async ValueTask<ApiResponse?> AwaitAsync(ValueTask<TResponse?> pending)
        {
            var response = await pending.ConfigureAwait(false);
            return response is null ? null : new ApiResponse<TResponse>(response);
        }
    }

    private static TRequest Decode(ReadOnlyMemory<byte> body, short version)
    {
        var reader = new KafkaReader(body);
        var request = TRequest.Read(ref reader, version);
        reader.ExpectEnd(typeof(TRequest).Name);
        return request;
    }

    /// <summary>
    /// Serves a decoded request. Return null only when no response must be sent. See <see cref="IApiHandler"/> for
    /// the ordering contract (state changes before the first await).
    /// </summary>
    protected abstract ValueTask<TResponse?> HandleAsync(
        RequestContext context, TRequest request, CancellationToken cancellationToken);
}
