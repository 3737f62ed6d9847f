using System;
using System.Diagnostics.CodeAnalysis;

namespace Lockstep.Storage.Internal;

/// <summary>
/// Always-on assertions for log state transitions (style-guide.md §3.5): a broken invariant in the log means
/// corrupted data, which must stop the operation rather than be written to disk.
/// </summary>
internal static class Invariant
{
    public static void Assert([DoesNotReturnIf(false)] bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Storage invariant violated: " + message);
        }
    }
}
