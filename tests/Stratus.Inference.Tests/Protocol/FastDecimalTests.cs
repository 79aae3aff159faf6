using System.Globalization;
using System.Text;
using Stratus.Inference.Protocol;

namespace Stratus.Inference.Tests.Protocol;

/// <summary>The fast path must agree bit for bit with the runtime's correctly rounded parser wherever it answers.</summary>
public sealed class FastDecimalTests
{
    private static readonly string[] Formats = ["G1", "G3", "G6", "G7", "G9", "R", "F0", "F2", "F5", "E2", "E6", "E12"];

    [Fact]
    public void TryParseSingle_RandomDecimals_MatchFloatParseExactly()
    {
        var random = new Random(7);
        var fastHits = 0;
        for (var i = 0; i < 200_000; i++)
        {
            var text = RandomDecimal(random);
            if (FastDecimal.TryParseSingle(Encoding.ASCII.GetBytes(text), out var fast))
            {
                fastHits++;
                var expected = float.Parse(text, CultureInfo.InvariantCulture);
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(fast), $"{text}: fast {fast:R}, exact {expected:R}");
            }
        }

        // Short decimals are the common case; the fast path must actually serve them.
        Assert.True(fastHits > 50_000, $"only {fastHits} fast parses");
    }

    [Fact]
    public void TryParseDouble_RandomDecimals_MatchDoubleParseExactly()
    {
        var random = new Random(11);
        var fastHits = 0;
        for (var i = 0; i < 200_000; i++)
        {
            var text = RandomDecimal(random);
            if (FastDecimal.TryParseDouble(Encoding.ASCII.GetBytes(text), out var fast))
            {
                fastHits++;
                var expected = double.Parse(text, CultureInfo.InvariantCulture);
                Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(fast), $"{text}: fast {fast:R}, exact {expected:R}");
            }
        }

        Assert.True(fastHits > 100_000, $"only {fastHits} fast parses");
    }

    [Theory]
    [InlineData("0", 0f)]
    [InlineData("-0", -0f)]
    [InlineData("0.000", 0f)]
    [InlineData("1.5", 1.5f)]
    [InlineData("-2.25e2", -225f)]
    [InlineData("1E-3", 0.001f)]
    [InlineData("1e+10", 1e10f)]
    [InlineData("0.0001234", 0.0001234f)]
    [InlineData("9999999", 9999999f)]
    public void TryParseSingle_KnownValues(string text, float expected)
    {
        Assert.True(FastDecimal.TryParseSingle(Encoding.ASCII.GetBytes(text), out var value));
        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(value));
    }

    [Theory]
    [InlineData("0.10000000149011612")] // 17 digits, as Python writes a float32
    [InlineData("12345678")] // 8 digits
    [InlineData("1e11")] // power of ten not exact in float
    [InlineData("1e-11")]
    [InlineData("3.4e38")]
    [InlineData("1e00005")]
    public void TryParseSingle_OutsideTheExactRange_DefersToTheGeneralParser(string text)
    {
        Assert.False(FastDecimal.TryParseSingle(Encoding.ASCII.GetBytes(text), out _));
    }

    private static string RandomDecimal(Random random)
    {
        var magnitude = Math.Pow(10, random.Next(-14, 14));
        var value = (random.NextDouble() - 0.5) * 2 * magnitude;
        if (random.Next(10) == 0)
        {
            value = Math.Round(value);
        }

        return value.ToString(Formats[random.Next(Formats.Length)], CultureInfo.InvariantCulture);
    }
}
