using System.Net;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Dispatch;

/// <summary>What a handler knows about the request it serves, besides its body.</summary>
/// <param name="ApiKey">The request's API key.</param>
/// <param name="ApiVersion">The request's version (already checked against the handler's range).</param>
/// <param name="CorrelationId">Echoed in the response header.</param>
/// <param name="ClientId">The client.id from the request header, or null.</param>
/// <param name="ConnectionId">A broker-unique id of the connection, for logs and per-connection state.</param>
/// <param name="RemoteEndPoint">The peer's address, for logs.</param>
internal sealed record RequestContext(
    ApiKey ApiKey,
    short ApiVersion,
    int CorrelationId,
    string? ClientId,
    long ConnectionId,
    EndPoint? RemoteEndPoint);
