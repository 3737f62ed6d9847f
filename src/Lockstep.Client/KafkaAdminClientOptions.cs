using System;
using System.Collections.Generic;

namespace Lockstep.Client;

/// <summary>Admin client settings (Kafka's <c>AdminClientConfig</c> names) on top of
/// <see cref="KafkaClientOptions"/>.</summary>
public sealed class KafkaAdminClientOptions : KafkaClientOptions
{
    /// <summary>Creates options from Kafka-named settings; unknown keys are rejected.</summary>
    /// <param name="config">Settings such as <c>bootstrap.servers</c>.</param>
    /// <returns>The options.</returns>
    public static KafkaAdminClientOptions FromConfig(IEnumerable<KeyValuePair<string, string>> config)
    {
        var options = new KafkaAdminClientOptions();
        options.SetAll(config);
        return options;
    }

    /// <summary><c>default.api.timeout.ms</c> (default 60 s): how long one admin call may take, retries included,
    /// unless the caller's token ends it first.</summary>
    public TimeSpan DefaultApiTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <inheritdoc/>
    protected override bool TrySetCore(string key, string value)
    {
        switch (key)
        {
            case "default.api.timeout.ms": DefaultApiTimeout = ParseMs(value); return true;
            default: return base.TrySetCore(key, value);
        }
    }
}
