using Lockstep.Testing;

namespace Lockstep.Interop.Tests.Infrastructure;

/// <summary>
/// Where the external clients are. ./test.sh installs them for the peers this project declares in
/// <c>&lt;LockstepTestPeers&gt;</c> and exports LOCKSTEP_KCAT, LOCKSTEP_PYTHON and LOCKSTEP_NODE_MODULES; without
/// those variables (a developer running the dll directly) the usual locations are tried. A missing peer skips the
/// test locally and fails it under CI=true (<see cref="Peers.RequireOrSkip(bool, string)"/>).
/// </summary>
public static class KafkaPeers
{
    /// <summary>The kcat executable.</summary>
    public static string RequireKcat()
    {
        var path = Environment.GetEnvironmentVariable("LOCKSTEP_KCAT") is { Length: > 0 } fromEnv ? fromEnv : "/usr/bin/kcat";
        Peers.RequireOrSkip(File.Exists(path), $"kcat at {path} (Debian package kcat; ./test.sh peer 'kcat')");
        return path;
    }

    /// <summary>
    /// Debian's python3 with the kafka module (python3-kafka). Deliberately not the first python3 on PATH: a
    /// pyenv or venv interpreter would not see Debian's packages.
    /// </summary>
    public static string RequireKafkaPython()
    {
        var path = Environment.GetEnvironmentVariable("LOCKSTEP_PYTHON") is { Length: > 0 } fromEnv ? fromEnv : "/usr/bin/python3";
        var available = File.Exists(path) && Succeeds(path, "-c", "import kafka");
        Peers.RequireOrSkip(available, $"kafka-python for {path} (Debian package python3-kafka; ./test.sh peer 'python-kafka')");
        return path;
    }

    /// <summary>The node executable and the node_modules folder holding kafkajs (for NODE_PATH).</summary>
    public static (string Node, string NodeModules) RequireKafkaJs()
    {
        var modules = Environment.GetEnvironmentVariable("LOCKSTEP_NODE_MODULES") is { Length: > 0 } fromEnv
            ? fromEnv
            : Path.Combine(RepoPaths.Root, "tests", "Lockstep.Interop.Tests", "js", "node_modules");
        var node = new[] { "/usr/bin/node", "/usr/local/bin/node" }.FirstOrDefault(File.Exists) ?? "node";
        var available = Directory.Exists(Path.Combine(modules, "kafkajs")) && Succeeds(node, "--version");
        Peers.RequireOrSkip(available, $"node with kafkajs in {modules} (npm; ./test.sh peer 'kafkajs')");
        return (node, modules);
    }

    private static bool Succeeds(string fileName, params string[] arguments)
    {
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(fileName)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = System.Diagnostics.Process.Start(start);
            if (process is null)
            {
                return false;
            }

            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            return process.WaitForExit(30_000) && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // Not installed.
        }
    }
}
