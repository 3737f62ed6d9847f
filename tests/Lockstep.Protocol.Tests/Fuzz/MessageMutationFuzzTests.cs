using Lockstep.Protocol.Messages;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Goal: no generated decoder, at any valid version, can be made to throw anything but
/// <see cref="KafkaProtocolException"/>, allocate out of proportion to its input, or loop, by corrupting a valid
/// encoding (issue 2, style-guide.md §3.3 "Decode safety"). Method: for every generated message type and every
/// valid version, encode a default and a fully populated instance; requests go through the request-frame target
/// (header and dispatch included), responses through the response-frame target, other schemas (records, consumer
/// protocol, storage) through a whole-body decode; each seed gets a bounded <see cref="MutationCampaign"/> with
/// the allocation bound of <see cref="FuzzHarness"/> checked on every decode.
/// </summary>
public sealed class MessageMutationFuzzTests
{
    /// <summary>Random mutations per seed; with the sweeps, the Fuzz folder runs about 900,000 decodes in ~5 s on two cores.</summary>
    private const int RandomMutationsPerSeed = 500;

    private static readonly Dictionary<Type, ApiMessageInfo> RequestApis =
        ApiMessages.All.ToDictionary(a => a.RequestType);

    private static readonly Dictionary<Type, ApiMessageInfo> ResponseApis =
        ApiMessages.All.ToDictionary(a => a.ResponseType);

    /// <summary>Every generated type that has at least one valid version.</summary>
    public static TheoryData<string> MessageTypeNames { get; } = new(
        MessageSamples.AllTypes
            .Where(t => MessageSamples.Versions(t) is var (lo, hi) && lo <= hi)
            .Select(t => t.FullName!));

    [Fact]
    public void Every_request_and_response_type_with_versions_is_fuzzed()
    {
        var fuzzed = MessageTypeNames.Select(row => row.Data).ToHashSet();
        foreach (var api in ApiMessages.All.Where(a => a.LowestVersion <= a.HighestVersion))
        {
            Assert.Contains(api.RequestType.FullName!, fuzzed);
            Assert.Contains(api.ResponseType.FullName!, fuzzed);
        }
    }

    [Theory]
    [MemberData(nameof(MessageTypeNames))]
    public void Mutated_encodings_raise_only_KafkaProtocolException_within_the_allocation_bound(string typeName)
    {
        var type = MessageSamples.AllTypes.Single(t => t.FullName == typeName);
        var (lowest, highest) = MessageSamples.Versions(type);
        foreach (var seed in FuzzSeeds.All)
        {
            var harness = new FuzzHarness(type.Name, seed);
            var rng = FuzzSeeds.For(seed, typeName);
            for (var version = lowest; version <= highest; version++)
            {
                var encodings = MessageSamples.Encodings(type, version);
                Assert.True(encodings.Count > 0, $"{type.Name} v{version}: no instance could be encoded.");
                foreach (var body in encodings)
                {
                    var (target, input, sizePrefixOffset, mayDecompress) = Wrap(type, version, body);
                    MutationCampaign.Run(harness, target, input, sizePrefixOffset, mayDecompress, rng, RandomMutationsPerSeed);
                }
            }

            harness.AssertClean();
            Assert.True(harness.Runs > 0);
        }
    }

    private static (FuzzTarget Target, byte[] Input, int SizePrefixOffset, bool MayDecompress) Wrap(
        Type type,
        short version,
        byte[] body)
    {
        if (RequestApis.TryGetValue(type, out var request))
        {
            return (
                FuzzTargets.RequestFrame.Fuzz,
                MessageSamples.RequestFrame(request.ApiKey, version, body),
                0,
                request.ApiKey == ApiKey.Produce);
        }

        if (ResponseApis.TryGetValue(type, out var response))
        {
            return (
                FuzzTargets.ResponseFrame.Fuzz,
                MessageSamples.ResponseFrame(response.ApiKey, version, body),
                FuzzTargets.ResponseFrame.PrefixSize,
                false);
        }

        return (input => MessageDecoders.DecodeExact(type, input, version), body, -1, false);
    }
}
