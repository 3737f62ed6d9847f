namespace Lockstep.DualWrite;

/// <summary>
/// Receives the step boundaries of <see cref="DualWriter"/>: a crash-injection hook for tests and the demo (kill the
/// process in <see cref="OnStepCompleted"/>) and a place for tracing. Called synchronously on the writer's path, so
/// it must be quick; an exception thrown here fails the unit of work like any other failure at that point.
/// </summary>
public interface IDualWriteObserver
{
    /// <summary>Called right after <paramref name="step"/> completed for <paramref name="transactionalId"/>, before
    /// the next step starts. Recovery reports <see cref="DualWriteStep.InitTransactions"/>,
    /// <see cref="DualWriteStep.LockState"/> and <see cref="DualWriteStep.CompletePrevious"/> too.</summary>
    /// <param name="transactionalId">The Kafka transactional id of the writer.</param>
    /// <param name="step">The step that has just completed.</param>
    void OnStepCompleted(string transactionalId, DualWriteStep step);
}
