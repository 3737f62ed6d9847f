using System;
using System.Collections.Generic;
using Lockstep.Storage;
using Lockstep.Transport;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker;

/// <summary>How to start a <see cref="KafkaBroker"/>. Every property has a working default.</summary>
public sealed class BrokerOptions
{
    /// <summary>Where partitions, offsets and coordinator state live (default <c>./lockstep-data</c>).</summary>
    public string DataDirectory { get; set; } = "./lockstep-data";

    /// <summary>
    /// <c>HOST:PORT</c> to listen on (default <c>127.0.0.1:9092</c>; port 0 picks a free port, see
    /// <see cref="KafkaBroker.BootstrapServers"/>).
    /// </summary>
    public string Listen { get; set; } = "127.0.0.1:9092";

    /// <summary>
    /// Host name given to clients in Metadata (default: the listen host, or 127.0.0.1 when listening on all
    /// addresses). An IPv4 literal avoids librdkafka resolving <c>localhost</c> to ::1 (client-compat.md).
    /// </summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>Broker settings by Kafka name (<c>num.partitions</c>, <c>log.segment.bytes</c>, …); see
    /// <see cref="BrokerConfig"/>.</summary>
    public IDictionary<string, string> Settings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Logging; null logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock (tests inject a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The file system (tests inject <see cref="InMemoryFileSystem"/>); null means the real disk.</summary>
    public IFileSystem? FileSystem { get; set; }

    /// <summary>
    /// A listener to serve instead of a TCP socket (tests and benchmarks pass an in-memory one). When set,
    /// <see cref="Listen"/> is used only for what Metadata advertises.
    /// </summary>
    public IConnectionListener? Listener { get; set; }
}
