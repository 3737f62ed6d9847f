using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Lockstep.DualWrite.Hosting;

/// <summary>Registers Lockstep's dual writer in a .NET host (issue 6 item 4).</summary>
public static class DualWriteServiceCollectionExtensions
{
    /// <summary>The configuration section <see cref="AddLockstepDualWrite"/> binds by default.</summary>
    public const string DefaultSectionPath = "Lockstep:DualWrite";

    /// <summary>
    /// Registers a singleton <see cref="DualWriterPool"/> and a hosted service that starts it (leases ids and recovers
    /// them before the application's other hosted services run units), keeps its leases renewed, and stops it on host
    /// shutdown (releasing the leases so other instances take the ids at once). Options are bound from
    /// <paramref name="sectionPath"/> — keys as the properties of <see cref="DualWriterPoolOptions"/>, e.g.
    /// <c>BootstrapServers</c>, <c>TransactionalIdPrefix</c>, <c>PoolSize</c>, <c>TotalIds</c>, <c>LeaseDuration</c>
    /// (<c>"00:00:30"</c>), <c>InstanceId</c> — then <paramref name="configure"/> runs, and the result is validated when
    /// the host starts (<see cref="OptionsValidationException"/> naming each bad key).
    /// </summary>
    /// <remarks>The pool's logger defaults to the host's <see cref="ILoggerFactory"/> (category
    /// <c>Lockstep.DualWrite</c>) and its clock to a registered <see cref="TimeProvider"/>. Inject
    /// <see cref="DualWriterPool"/> and call its <c>ExecuteAsync</c> to run units of work.</remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="storeFactory">Creates the store (state rows and leases) on the application's database, e.g.
    /// <c>sp =&gt; SqliteDualWriteStore.ForFile("app.db")</c>. Called once; the store is also registered as
    /// <see cref="IDualWriteStore"/> unless one is already.</param>
    /// <param name="configure">Adjusts the bound options (producer settings, observer); null for none.</param>
    /// <param name="sectionPath">The configuration section; default <see cref="DefaultSectionPath"/>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddLockstepDualWrite(
        this IServiceCollection services,
        Func<IServiceProvider, IDualWriteStore> storeFactory,
        Action<DualWriterPoolOptions>? configure = null,
        string sectionPath = DefaultSectionPath)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(storeFactory);
        ArgumentException.ThrowIfNullOrWhiteSpace(sectionPath);

        var options = services.AddOptions<DualWriterPoolOptions>().BindConfiguration(sectionPath);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Validated when the host starts, before any hosted service: a misconfigured instance must not start at all.
        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<DualWriterPoolOptions>>(new PoolOptionsValidator(sectionPath));

        services.TryAddSingleton<IDualWriteStore>(storeFactory);
        services.AddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<DualWriterPoolOptions>>().Value;
            settings.Logger ??= sp.GetService<ILoggerFactory>()?.CreateLogger("Lockstep.DualWrite");
            if (ReferenceEquals(settings.TimeProvider, TimeProvider.System) && sp.GetService<TimeProvider>() is { } time)
            {
                settings.TimeProvider = time;
            }

            return new DualWriterPool(sp.GetRequiredService<IDualWriteStore>(), settings);
        });
        services.AddHostedService<DualWriteHostedService>();
        return services;
    }

    /// <summary>Reports every problem of the options, each prefixed with its configuration key.</summary>
    private sealed class PoolOptionsValidator(string sectionPath) : IValidateOptions<DualWriterPoolOptions>
    {
        public ValidateOptionsResult Validate(string? name, DualWriterPoolOptions options)
        {
            IReadOnlyList<string> errors = options.Validate();
            return errors.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(errors.Select(e => $"{sectionPath}:{e}"));
        }
    }
}
