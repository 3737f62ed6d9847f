using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;

namespace Lockstep.DualWrite.Hosting;

/// <summary>
/// Drives the <see cref="DualWriterPool"/> with the host's lifetime: on start it leases the pool's ids and recovers
/// each (resolving any transaction a previous incarnation left prepared from the database's decision), so units run
/// by later hosted services start on recovered ids; the pool renews its leases and takes over dead instances' ids in
/// the background; on stop it waits for running units, closes the writers and releases the leases.
/// </summary>
/// <param name="pool">The registered pool.</param>
internal sealed class DualWriteHostedService(DualWriterPool pool) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => pool.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => pool.StopAsync(cancellationToken);
}
