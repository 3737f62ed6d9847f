using System.Net;
using Lockstep.Broker.Dispatch;

namespace Lockstep.Broker.Coordinators.Groups;

/// <summary>Formats the peer of a request as Kafka's <c>clientHost</c> (DescribeGroups shows it).</summary>
internal static class ClientHosts
{
    /// <summary>The peer address as <c>/address</c>, like Kafka's <c>InetAddress.toString()</c>.</summary>
    public static string Of(RequestContext context) =>
        context.RemoteEndPoint switch
        {
            IPEndPoint ip => "/" + ip.Address,
            null => "",
            var other => "/" + other,
        };
}
