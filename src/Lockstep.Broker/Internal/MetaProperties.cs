using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Lockstep.Storage;

namespace Lockstep.Broker.Internal;

/// <summary>
/// <c>meta.properties</c> in the data directory, as Kafka keeps it: the cluster id (generated on first start,
/// never changed) and the node id. Starting with a different <c>node.id</c> on an existing directory is refused,
/// like Kafka, because clients cache node ids.
/// </summary>
internal static class MetaProperties
{
    public static string LoadOrCreate(IFileSystem fs, string dataDirectory, int nodeId)
    {
        var path = Path.Combine(dataDirectory, "meta.properties");
        var bytes = AtomicFile.TryRead(fs, path);
        if (bytes is not null)
        {
            var entries = Encoding.UTF8.GetString(bytes)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => !l.StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
                .Select(l => l.Split('=', 2))
                .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            if (!entries.TryGetValue("cluster.id", out var clusterId) || clusterId.Length == 0)
            {
                throw new InvalidDataException($"{path} has no cluster.id; the data directory is damaged.");
            }

            if (entries.TryGetValue("node.id", out var stored) && stored != nodeId.ToString(CultureInfo.InvariantCulture))
            {
                throw new InvalidOperationException(
                    $"Data directory {dataDirectory} belongs to node.id={stored}, but the broker was started with node.id={nodeId}.");
            }

            return clusterId;
        }

        // Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (Uuid.randomUuid().toString()).
        var id = Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var content = $"#Written by Lockstep\nversion=1\ncluster.id={id}\nnode.id={nodeId}\n";
        AtomicFile.Write(fs, path, Encoding.UTF8.GetBytes(content));
        return id;
    }
}
