using System;
using System.CommandLine;
using System.CommandLine.Invocation;
using System.Threading.Tasks;

namespace Lockstep.Cli;

/// <summary>
/// Entry point of <c>lockstep</c>. One root command with a subcommand per job: <c>broker</c>, <c>demo</c> and
/// <c>transactions …</c>.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("Lockstep: an embedded Kafka-compatible broker and dual-write toolkit.")
        {
            BrokerCommand.Create(),
            DemoCommand.Create(),
            DemoCommand.CreateWorker(),
            Transactions.TransactionsCommand.Create(),
        };

        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0 && parseResult.Action is ParseErrorAction)
        {
            // System.CommandLine's own error action exits 1 and prints the whole help text; a usage error is exit
            // code 2 here (the same code as a bad setting) with one line per problem, so scripts can tell it apart
            // from a runtime failure.
            foreach (var error in parseResult.Errors)
            {
                await Console.Error.WriteLineAsync($"lockstep: {error.Message} (see lockstep --help)")
                    .ConfigureAwait(false);
            }

            return ExitCodes.Usage;
        }

        // Signals are handled by the commands that run long (BrokerCommand), which must finish an orderly shutdown
        // rather than be abandoned after System.CommandLine's default two-second grace period.
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
        return await parseResult.InvokeAsync(invocation).ConfigureAwait(false);
    }
}
