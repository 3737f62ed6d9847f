using System.Text;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Primitives;

/// <summary>CRC-32C against the standard check value and RFC 3720 test vectors.</summary>
public sealed class Crc32CTests
{
    [Fact]
    public void Check_value_of_123456789_is_E3069283()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Rfc3720_32_zero_bytes()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }

    [Fact]
    public void Rfc3720_32_bytes_of_0xFF()
    {
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
    }
}
