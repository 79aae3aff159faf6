using Stratus.Core.Rollouts;

namespace Stratus.Core.Tests.Rollouts;

public sealed class ResponseComparerTests
{
    [Fact]
    public void Compare_IdenticalAnswers_GivesZeroDifferencesAndRatioZero()
    {
        OutputTensor[] answer = [Fp32("probabilities", [2, 2], 0.1, 0.9, 0.7, 0.3), Tensor("label", "INT64", [2], 1, 0)];

        var comparison = ResponseComparer.Compare(answer, answer, 1e-4, 1e-4);

        Assert.Null(comparison.Mismatch);
        Assert.False(comparison.Diverges);
        Assert.Equal(
            [new OutputDifference("probabilities", 0, 0, 0, 2, 2), new OutputDifference("label", 0, 0, 0, 0, 0)],
            comparison.Outputs);
    }

    [Fact]
    public void Compare_KnownDifferences_GivesExactMaximaAndTheWorstRatio()
    {
        // Element 0 differs by 0.5 (relative 0.5), element 2 by 1 (relative 0.25); tolerance 0.25 + 0.25 x |stable|
        // allows 0.5 and 1.25 there, so the worst ratio is exactly 1: at the limit, not beyond.
        var comparison = ResponseComparer.Compare([Fp64("y", [3], 1, 2, 4)], [Fp64("y", [3], 1.5, 2, 3)], 0.25, 0.25);

        var difference = Assert.Single(comparison.Outputs);
        Assert.Equal(1.0, difference.MaxAbsolute);
        Assert.Equal(0.5, difference.MaxRelative);
        Assert.Equal(1.0, difference.WorstToleranceRatio);
        Assert.False(comparison.Diverges);
    }

    [Fact]
    public void Compare_BeyondTolerance_Diverges()
    {
        var comparison = ResponseComparer.Compare([Fp64("y", [2], 1, 2)], [Fp64("y", [2], 1, 2.5)], 0.125, 0);

        Assert.Equal(4.0, comparison.Outputs[0].WorstToleranceRatio);
        Assert.True(comparison.Diverges);
    }

    [Fact]
    public void Compare_StableZero_DividesByTheFloorNotByZero()
    {
        var comparison = ResponseComparer.Compare([Fp64("y", [2], 0, 0)], [Fp64("y", [2], 0, 1e-6)], 1e-4, 1e-4);

        Assert.Equal(1e-6 / 1e-12, comparison.Outputs[0].MaxRelative, 6);
        Assert.Equal(1e-6 / 1e-4, comparison.Outputs[0].WorstToleranceRatio, 12);
    }

    [Fact]
    public void Compare_NaNInOneAnswerOnly_IsAnInfiniteRatioWithFiniteFigures()
    {
        var comparison = ResponseComparer.Compare([Fp64("y", [2], double.NaN, 1)], [Fp64("y", [2], double.NaN, double.NaN)], 1e-4, 1e-4);

        var difference = comparison.Outputs[0];
        Assert.Equal(double.PositiveInfinity, difference.WorstToleranceRatio);
        Assert.Equal(double.MaxValue, difference.MaxAbsolute);
        Assert.Equal(double.MaxValue, difference.MaxRelative);
        Assert.True(comparison.Diverges);
    }

    [Fact]
    public void Compare_NaNOrTheSameInfinityInBoth_IsEqual()
    {
        var comparison = ResponseComparer.Compare(
            [Fp64("y", [3], double.NaN, double.PositiveInfinity, -0.0)],
            [Fp64("y", [3], double.NaN, double.PositiveInfinity, 0.0)],
            0,
            0);

        Assert.Equal(new OutputDifference("y", 0, 0, 0, 1, 1), comparison.Outputs[0]);
    }

    [Fact]
    public void Compare_ZeroTolerance_AnyDifferenceIsBeyondIt()
    {
        var comparison = ResponseComparer.Compare([Fp64("y", [1], 1)], [Fp64("y", [1], 1.0000001)], 0, 0);

        Assert.Equal(double.PositiveInfinity, comparison.Outputs[0].WorstToleranceRatio);
    }

    [Fact]
    public void Compare_ShapeMismatch_ReportsBothShapes()
    {
        var comparison = ResponseComparer.Compare([Fp32("y", [1, 2], 1, 2)], [Fp32("y", [1, 3], 1, 2, 3)], 1e-4, 1e-4);

        Assert.Equal("output 'y' has shape [1,3] in the shadow answer against [1,2]", comparison.Mismatch);
        Assert.Empty(comparison.Outputs);
        Assert.True(comparison.Diverges);
    }

    [Fact]
    public void Compare_DatatypeMismatch_ReportsBothDatatypes()
    {
        var comparison = ResponseComparer.Compare([Fp32("y", [1], 1)], [Tensor("y", "FP16", [1], 1)], 1e-4, 1e-4);

        Assert.Equal("output 'y' has datatype FP16 in the shadow answer against FP32", comparison.Mismatch);
    }

    [Fact]
    public void Compare_MissingOutput_IsAMismatchButTheOthersAreStillCompared()
    {
        var comparison = ResponseComparer.Compare([Fp32("y", [1], 1), Fp32("z", [1], 2)], [Fp32("y", [1], 1)], 1e-4, 1e-4);

        Assert.Equal("output 'z' is missing from the shadow answer", comparison.Mismatch);
        Assert.Equal("y", Assert.Single(comparison.Outputs).Output);
    }

    [Fact]
    public void Compare_ExtraOutputInTheShadowAnswer_IsAMismatch()
    {
        var comparison = ResponseComparer.Compare([Fp32("y", [1], 1)], [Fp32("y", [1], 1), Fp32("debug", [1], 0)], 1e-4, 1e-4);

        Assert.Equal("output 'debug' is in the shadow answer only", comparison.Mismatch);
    }

    [Fact]
    public void Compare_SeveralMismatches_AreAllListed()
    {
        var comparison = ResponseComparer.Compare([Fp32("a", [1], 1), Fp32("b", [1], 1)], [Fp32("c", [1], 1)], 1e-4, 1e-4);

        Assert.Equal(
            "output 'a' is missing from the shadow answer; output 'b' is missing from the shadow answer; output 'c' is in the shadow answer only",
            comparison.Mismatch);
    }

    [Fact]
    public void Compare_FourByThreeScoresWithOneRowFlipped_AgreesOnThreeOfFourRows()
    {
        var stable = Fp32("probabilities", [4, 3], 0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.5, 0.4, 0.1);
        var shadow = Fp32("probabilities", [4, 3], 0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.4, 0.5, 0.1);

        var difference = ResponseComparer.Compare([stable], [shadow], 1e-4, 1e-4).Outputs[0];

        Assert.Equal(4, difference.ArgmaxRows);
        Assert.Equal(3, difference.ArgmaxAgreed);
    }

    [Theory]
    [InlineData("INT64", new long[] { 4, 3 })]
    [InlineData("FP32", new long[] { 4, 1 })]
    [InlineData("FP32", new long[0])]
    public void Compare_NotAClassifiersScores_CountsNoArgmaxRows(string dataType, long[] shape)
    {
        var values = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(i => (double)i).ToArray();
        var output = new OutputTensor("y", dataType, shape, values);

        var difference = ResponseComparer.Compare([output], [output], 1e-4, 1e-4).Outputs[0];

        Assert.Equal((0, 0), (difference.ArgmaxRows, difference.ArgmaxAgreed));
    }

    private static OutputTensor Fp32(string name, long[] shape, params double[] values) => Tensor(name, "FP32", shape, values);

    private static OutputTensor Fp64(string name, long[] shape, params double[] values) => Tensor(name, "FP64", shape, values);

    private static OutputTensor Tensor(string name, string dataType, long[] shape, params double[] values) => new(name, dataType, shape, values);
}
