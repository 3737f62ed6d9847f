using Lockstep.Protocol.Generator;
using Lockstep.Testing;

namespace Lockstep.Protocol.Tests.Messages;

/// <summary>
/// Access to Apache Kafka's JSON schemas in <c>../shared/kafka-protocol</c> for the tests that compare the generated
/// code with its source. Absent schemas skip those tests locally and fail them under <c>CI=true</c> (§3.6).
/// </summary>
internal static class SchemaFolder
{
    public static string Path => RepoPaths.SharedKafkaProtocolDir;

    public static string ManifestPath =>
        System.IO.Path.Combine(RepoPaths.Root, "tools", "Lockstep.Protocol.Generator", "manifest.json");

    public static string GeneratedDir =>
        System.IO.Path.Combine(RepoPaths.Root, "src", "Lockstep.Protocol", "Messages", "Generated");

    /// <summary>Skips (locally) or fails (CI) unless the schemas are present.</summary>
    public static void Require() =>
        Peers.RequireOrSkip(Directory.Exists(System.IO.Path.Combine(Path, "messages")), $"Kafka JSON schemas at {Path}");

    /// <summary>Loads every schema the generator covers.</summary>
    public static (List<MessageSpec> Messages, List<MessageSpec> Storage) Load()
    {
        Require();
        return CodeGenerator.LoadSchemas(Path, Manifest.Load(ManifestPath));
    }
}
