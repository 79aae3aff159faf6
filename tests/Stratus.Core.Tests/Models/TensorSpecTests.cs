using Stratus.Core.Models;

namespace Stratus.Core.Tests.Models;

public sealed class TensorSpecTests
{
    [Theory]
    [InlineData(new long[] { 4, 12 }, true)]
    [InlineData(new long[] { 0, 12 }, true)]
    [InlineData(new long[] { 4, 11 }, false)]
    [InlineData(new long[] { 12 }, false)]
    [InlineData(new long[] { 1, 12, 1 }, false)]
    public void Accepts_ChecksRankAndFixedDimensions(long[] shape, bool expected)
    {
        var spec = new TensorSpec("x", TensorDataType.Fp32, [-1, 12]);

        Assert.Equal(expected, spec.Accepts(shape));
    }

    [Fact]
    public void Accepts_ScalarSpec_TakesOnlyRankZero()
    {
        var spec = new TensorSpec("k", TensorDataType.Int64, []);

        Assert.True(spec.Accepts([]));
        Assert.False(spec.Accepts([1]));
        Assert.Equal("[]", spec.FormatShape());
    }

    [Fact]
    public void ElementSize_MatchesTheBinaryLayout()
    {
        Assert.Equal(1, TensorDataType.Bool.ElementSize());
        Assert.Equal(2, TensorDataType.Fp16.ElementSize());
        Assert.Equal(8, TensorDataType.UInt64.ElementSize());
        Assert.False(TensorDataType.Bytes.IsFixedSize());
    }

    [Fact]
    public void TryParse_IsCaseSensitiveLikeTheProtocol()
    {
        Assert.True(TensorDataTypes.TryParse("FP32", out var type));
        Assert.Equal(TensorDataType.Fp32, type);
        Assert.False(TensorDataTypes.TryParse("fp32", out _));
        Assert.False(TensorDataTypes.TryParse("BF16", out _));
    }
}
