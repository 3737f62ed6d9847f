namespace Lockstep.Cli;

/// <summary>Process exit codes of <c>lockstep</c>, stable for scripts.</summary>
internal static class ExitCodes
{
    /// <summary>Success, including a clean shutdown after Ctrl-C or SIGTERM.</summary>
    public const int Ok = 0;

    /// <summary>A runtime failure (the port is taken, the data directory is unusable, …).</summary>
    public const int Failure = 1;

    /// <summary>Bad usage: an unknown option, an invalid setting name or value, an unreadable config file.</summary>
    public const int Usage = 2;
}
