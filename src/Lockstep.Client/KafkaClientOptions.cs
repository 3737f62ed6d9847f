using System;
using System.Collections.Generic;
using System.Globalization;
using Lockstep.Transport;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client;

/// <summary>
/// Settings shared by every Lockstep client, as typed .NET properties and under Kafka's config names
/// (<see cref="Set"/>). Durations are <see cref="TimeSpan"/>s here and <c>…ms</c> integers in the Kafka names.
/// </summary>
/// <remarks>
/// Derived option types (producer, consumer, admin) add their own keys by overriding <see cref="TrySetCore"/> and
/// chaining to the base, so one dictionary can configure any client and an unknown key is always an error.
/// </remarks>
public abstract class KafkaClientOptions
{
    /// <summary><c>bootstrap.servers</c>: comma-separated <c>host:port</c> list used to discover the cluster.
    /// Required.</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    /// <summary><c>client.id</c>: sent in every request header; appears in broker logs and quotas.</summary>
    public string ClientId { get; set; } = "lockstep";

    /// <summary><c>request.timeout.ms</c> (default 30 s): how long to wait for a response before the connection is
    /// closed (responses are ordered, so one lost response poisons the connection) and the request retried.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><c>retry.backoff.ms</c> (default 100 ms): the first delay before retrying a failed request.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>retry.backoff.max.ms</c> (default 1 s): cap of the exponential retry back-off (KIP-580).</summary>
    public TimeSpan RetryBackoffMax { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><c>reconnect.backoff.ms</c> (default 50 ms): the first delay before reconnecting to a broker after a
    /// failed or lost connection.</summary>
    public TimeSpan ReconnectBackoff { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary><c>reconnect.backoff.max.ms</c> (default 1 s): cap of the exponential reconnect back-off.</summary>
    public TimeSpan ReconnectBackoffMax { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><c>metadata.max.age.ms</c> (default 5 min): cluster metadata older than this is refreshed even
    /// without an error hinting that it changed.</summary>
    public TimeSpan MetadataMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary><c>socket.connection.setup.timeout.ms</c> (default 10 s): limit for one connect attempt, including
    /// the ApiVersions handshake.</summary>
    public TimeSpan SocketConnectionSetupTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How connections are opened. Null means TCP (<c>SocketConnectionFactory</c>); tests inject the
    /// in-memory network or a fault-injecting wrapper, and TLS can be added as another factory.</summary>
    public IConnectionFactory? ConnectionFactory { get; set; }

    /// <summary>Logging; null logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The only clock the client reads (style-guide §3.2 rule 5).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Sets an option by its Kafka config name, e.g. <c>Set("linger.ms", "5")</c>.
    /// </summary>
    /// <param name="key">The Kafka config name.</param>
    /// <param name="value">The value as Kafka would read it from a properties file.</param>
    /// <exception cref="ArgumentException">The key is unknown to this client type, or the value is invalid for it;
    /// the message names the key.</exception>
    public void Set(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        bool known;
        try
        {
            known = TrySetCore(key.Trim(), value.Trim());
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"Invalid value '{value}' for config '{key}': {ex.Message}", nameof(value), ex);
        }

        if (!known)
        {
            throw new ArgumentException(
                $"Unknown config '{key}' for {GetType().Name}. Lockstep rejects unknown keys instead of ignoring them, " +
                "so that a typo cannot silently fall back to a default.", nameof(key));
        }
    }

    /// <summary>Sets every entry with <see cref="Set"/>.</summary>
    /// <param name="config">Kafka-named settings.</param>
    public void SetAll(IEnumerable<KeyValuePair<string, string>> config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (key, value) in config)
        {
            Set(key, value);
        }
    }

    /// <summary>
    /// Applies one Kafka-named setting. Overrides handle their own keys and call the base for the rest.
    /// </summary>
    /// <param name="key">The trimmed key.</param>
    /// <param name="value">The trimmed value.</param>
    /// <returns>False when the key is unknown.</returns>
    /// <exception cref="FormatException">The value does not parse.</exception>
    protected virtual bool TrySetCore(string key, string value)
    {
        switch (key)
        {
            case "bootstrap.servers": BootstrapServers = value; return true;
            case "client.id": ClientId = value; return true;
            case "request.timeout.ms": RequestTimeout = ParseMs(value); return true;
            case "retry.backoff.ms": RetryBackoff = ParseMs(value); return true;
            case "retry.backoff.max.ms": RetryBackoffMax = ParseMs(value); return true;
            case "reconnect.backoff.ms": ReconnectBackoff = ParseMs(value); return true;
            case "reconnect.backoff.max.ms": ReconnectBackoffMax = ParseMs(value); return true;
            case "metadata.max.age.ms": MetadataMaxAge = ParseMs(value); return true;
            case "socket.connection.setup.timeout.ms": SocketConnectionSetupTimeout = ParseMs(value); return true;
            default: return false;
        }
    }

    /// <summary>Checks cross-setting rules; the client calls it on construction.</summary>
    /// <exception cref="ArgumentException">A setting is missing or inconsistent; the message names it.</exception>
    public virtual void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException("bootstrap.servers is required.");
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("request.timeout.ms must be positive.");
        }
    }

    /// <summary>Parses a non-negative millisecond count (Kafka's <c>…ms</c> settings).</summary>
    /// <param name="value">Decimal milliseconds.</param>
    /// <returns>The duration.</returns>
    protected static TimeSpan ParseMs(string value)
    {
        var ms = ParseLong(value);
        if (ms < 0)
        {
            throw new FormatException("a duration in milliseconds must be >= 0.");
        }

        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>Parses a decimal 64-bit integer with the invariant culture.</summary>
    /// <param name="value">The text.</param>
    /// <returns>The number.</returns>
    protected static long ParseLong(string value) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var result)
            ? result
            : throw new FormatException("expected an integer.");

    /// <summary>Parses a decimal 32-bit integer with the invariant culture.</summary>
    /// <param name="value">The text.</param>
    /// <returns>The number.</returns>
    protected static int ParseInt(string value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var result)
            ? result
            : throw new FormatException("expected a 32-bit integer.");

    /// <summary>Parses <c>true</c>/<c>false</c> (case-insensitive, as Java's ConfigDef does).</summary>
    /// <param name="value">The text.</param>
    /// <returns>The flag.</returns>
    protected static bool ParseBool(string value) =>
        value.ToUpperInvariant() switch
        {
            "TRUE" => true,
            "FALSE" => false,
            _ => throw new FormatException("expected true or false."),
        };
}
