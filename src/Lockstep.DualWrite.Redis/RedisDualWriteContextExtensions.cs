using System;

namespace Lockstep.DualWrite.Redis;

/// <summary>Access to the Redis transaction of a unit of work.</summary>
public static class RedisDualWriteContextExtensions
{
    /// <summary>
    /// The unit's <see cref="RedisDualWriteTransaction"/>: queue the unit's writes on its
    /// <see cref="RedisDualWriteTransaction.Transaction"/> so they commit in the same <c>MULTI</c>/<c>EXEC</c> as the
    /// prepared token. The queued commands' tasks complete only after the commit; do not await them in the unit.
    /// </summary>
    /// <param name="context">The unit of work of a <see cref="DualWriter"/> built on a <see cref="RedisDualWriteStore"/>.
    /// </param>
    /// <returns>The Redis transaction.</returns>
    /// <exception cref="NotSupportedException">The writer's store is not a <see cref="RedisDualWriteStore"/>.</exception>
    /// <example>
    /// A unit of work that writes a hash and produces its event atomically (compiled and run by
    /// <c>RedisDualWriterTests.Doc_example_of_context_Redis_commits_the_key_with_its_event</c>):
    /// <code>
    /// await writer.ExecuteAsync(async (context, ct) =>
    /// {
    ///     var redis = context.Redis();
    ///     // Queued, not sent: the task completes after the commit, so it is not awaited here.
    ///     _ = redis.Transaction.HashSetAsync(redis.Key("order:42"), "amount_cents", 1999);
    ///     await context.ProduceAsync(new ProducerRecord("orders", key, value), ct);
    /// });
    /// </code>
    /// </example>
    public static RedisDualWriteTransaction Redis(this DualWriteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.StoreTransaction as RedisDualWriteTransaction
            ?? throw new NotSupportedException(
                $"The unit of work runs on {context.StoreTransaction.GetType().Name}, not on a RedisDualWriteStore.");
    }
}
