using Lockstep.Testing;
using Xunit.Sdk;

namespace Lockstep.Architecture.Tests;

/// <summary>
/// Goal: the shared helpers in tests/Lockstep.Testing behave as every other test project assumes (skip locally,
/// fail on CI; temp dirs cleaned; repository located). Method: call them directly. They live here because
/// Lockstep.Testing is a library, not a test project, and this project already depends on it.
/// </summary>
public sealed class TestingHelpersTests
{
    [Fact]
    public void RepoPaths_root_holds_the_solution_and_shared_sits_beside_it()
    {
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, RepoPaths.SolutionFileName)));
        Assert.Equal(Path.GetDirectoryName(RepoPaths.Root), Path.GetDirectoryName(RepoPaths.SharedDir));
        Assert.Equal(Path.Combine(RepoPaths.SharedDir, "kafka-protocol"), RepoPaths.SharedKafkaProtocolDir);
    }

    [Fact]
    public void RepoPaths_FindRoot_walks_up_and_fails_outside_a_checkout()
    {
        Assert.Equal(RepoPaths.Root, RepoPaths.FindRoot(Path.Combine(RepoPaths.Root, "src", "Lockstep.Protocol")));

        using var temp = new TempDirectory(nameof(TestingHelpersTests));
        var nested = Directory.CreateDirectory(temp.Combine("a", "b")).FullName;
        File.WriteAllText(temp.Combine(RepoPaths.SolutionFileName), "<Solution />");
        Assert.Equal(temp.Path, RepoPaths.FindRoot(nested));

        File.Delete(temp.Combine(RepoPaths.SolutionFileName));
        // The temp root lives under /tmp, which has no Lockstep.slnx above it.
        Assert.Throws<InvalidOperationException>(() => RepoPaths.FindRoot(nested));
    }

    [Fact]
    public void TempDirectory_is_fresh_and_removed_on_dispose()
    {
        var first = new TempDirectory("probe");
        using var second = new TempDirectory("probe");
        Assert.NotEqual(first.Path, second.Path);
        Assert.Empty(Directory.EnumerateFileSystemEntries(first.Path));

        File.WriteAllText(first.Combine("data.log"), "x");
        Directory.CreateDirectory(first.Combine("segments"));
        first.Dispose();
        first.Dispose();

        Assert.False(Directory.Exists(first.Path));
        Assert.True(Directory.Exists(second.Path));
    }

    [Fact]
    public void Peers_available_returns_in_both_modes()
    {
        Peers.RequireOrSkip(true, "PostgreSQL", isCI: false);
        Peers.RequireOrSkip(true, "PostgreSQL", isCI: true);
    }

    [Fact]
    public void Peers_missing_skips_locally_and_fails_under_CI()
    {
        // Caught by hand: Assert.Throws and Record.Exception let a dynamic-skip exception escape, which would
        // skip this very test instead of inspecting the exception.
        SkipException? skip = null;
        try
        {
            Peers.RequireOrSkip(false, "Redis on 127.0.0.1:6399", isCI: false);
        }
        catch (SkipException e)
        {
            skip = e;
        }

        Assert.NotNull(skip);
        Assert.Contains("Redis on 127.0.0.1:6399", skip.Message, StringComparison.Ordinal);
        Assert.Contains("skipped locally", skip.Message, StringComparison.Ordinal);

        var fail = Assert.Throws<FailException>(() => Peers.RequireOrSkip(false, "Redis on 127.0.0.1:6399", isCI: true));
        Assert.Contains("Redis on 127.0.0.1:6399", fail.Message, StringComparison.Ordinal);
        Assert.Contains("CI=true", fail.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData(" 1 ", true)]
    [InlineData("false", false)]
    [InlineData("0", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void TestEnvironment_reads_CI_flags(string? value, bool expected)
    {
        Assert.Equal(expected, TestEnvironment.IsTruthy(value));
    }

    [Fact]
    public void TestEnvironment_IsCI_follows_the_process_environment()
    {
        Assert.Equal(TestEnvironment.IsTruthy(Environment.GetEnvironmentVariable("CI")), TestEnvironment.IsCI);
    }
}
