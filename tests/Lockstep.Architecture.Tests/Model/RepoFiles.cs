using System.Diagnostics;

namespace Lockstep.Architecture.Tests.Model;

/// <summary>
/// The files the repository holds or is about to hold: <c>git ls-files --cached --others --exclude-standard</c>,
/// i.e. tracked files plus untracked ones that a plain <c>git add</c> would pick up. Ignored build output (bin/,
/// obj/) is thereby excluded. Without git (an exported tarball) it falls back to a directory walk that skips
/// the same build folders, which is stricter, never laxer.
/// </summary>
internal static class RepoFiles
{
    private static readonly string[] SkippedDirectories = ["bin", "obj", ".git", "node_modules", ".test-results"];

    /// <summary>Repository-relative paths with forward slashes, sorted ordinally; only files that exist.</summary>
    public static IReadOnlyList<string> List(string root)
    {
        var files = TryGitLsFiles(root) ?? Walk(root);
        return files
            .Where(f => File.Exists(Path.Combine(root, f)))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static List<string>? TryGitLsFiles(string root)
    {
        var psi = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard" })
        {
            psi.ArgumentList.Add(arg);
        }

        try
        {
            using var git = Process.Start(psi);
            if (git is null)
            {
                return null;
            }

            var stdout = git.StandardOutput.ReadToEnd();
            git.StandardError.ReadToEnd();
            git.WaitForExit();
            return git.ExitCode == 0
                ? stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList()
                : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // git is not installed: fall back to walking the tree.
            return null;
        }
    }

    private static List<string> Walk(string root)
    {
        var result = new List<string>();
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                if (!SkippedDirectories.Contains(Path.GetFileName(sub), StringComparer.Ordinal))
                {
                    pending.Push(sub);
                }
            }

            result.AddRange(Directory.EnumerateFiles(dir).Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')));
        }

        return result;
    }
}
