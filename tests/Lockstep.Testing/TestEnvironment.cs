namespace Lockstep.Testing;

/// <summary>
/// Facts about the machine the tests run on. CI runs <c>bash .ci/run</c> with <c>CI=true</c>; that is the
/// only signal tests use to decide between "skip locally" and "fail on CI" (style-guide.md §3.6).
/// </summary>
public static class TestEnvironment
{
    /// <summary>The environment variable CI systems (ours included) set to <c>true</c>.</summary>
    public const string CiVariable = "CI";

    /// <summary>
    /// True when <c>CI</c> is <c>true</c> or <c>1</c> (case-insensitive). Read on every call so a test can
    /// observe the real process environment rather than a value cached at type initialisation.
    /// </summary>
    public static bool IsCI => IsTruthy(Environment.GetEnvironmentVariable(CiVariable));

    /// <summary>Interprets an environment-variable value the way CI providers set boolean flags.</summary>
    /// <param name="value">The raw variable value, or null when unset.</param>
    /// <returns>True for <c>true</c> or <c>1</c>, ignoring case and surrounding whitespace.</returns>
    public static bool IsTruthy(string? value)
    {
        var trimmed = value?.Trim();
        return string.Equals(trimmed, "true", StringComparison.OrdinalIgnoreCase) || trimmed == "1";
    }
}
