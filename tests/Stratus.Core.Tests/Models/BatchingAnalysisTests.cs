using Stratus.Core.Models;

namespace Stratus.Core.Tests.Models;

public sealed class BatchingAnalysisTests
{
    private static TensorSpec Spec(string name, long[] shape, params string[] names) =>
        new(name, TensorDataType.Fp32, shape, names.Length == 0 ? [.. shape.Select(_ => string.Empty)] : names);

    private static BatchingVerdict Analyze(TensorSpec[] inputs, TensorSpec[] outputs) => BatchingAnalysis.Analyze(new ModelSignature(inputs, outputs));

    [Fact]
    public void Analyze_EveryTensorLeadsWithTheNamedBatch_CanBatch()
    {
        var verdict = Analyze(
            [Spec("x", [-1, 12], "batch", ""), Spec("ids", [-1, 3], "batch", "")],
            [Spec("p", [-1, 2], "batch", ""), Spec("label", [-1], "batch")]);

        Assert.True(verdict.CanBatch, verdict.Reason);
        Assert.Contains("'batch'", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_UnnamedDynamicLeadingDimensions_CanBatch()
    {
        Assert.True(Analyze([Spec("x", [-1, 4])], [Spec("y", [-1, 1])]).CanBatch);
    }

    [Fact]
    public void Analyze_ScalarInput_CannotBatch()
    {
        var verdict = Analyze([Spec("x", [-1, 3], "batch", ""), Spec("factor", [])], [Spec("y", [-1, 3], "batch", "")]);

        Assert.False(verdict.CanBatch);
        Assert.Equal("input 'factor' is a scalar", verdict.Reason);
    }

    [Fact]
    public void Analyze_StateWithBatchInTheMiddle_CannotBatch()
    {
        var verdict = Analyze(
            [Spec("x", [-1, 4], "batch", ""), Spec("state", [2, -1, 4], "", "batch", "")],
            [Spec("y", [-1, 4], "batch", "")]);

        Assert.False(verdict.CanBatch);
        Assert.Equal("input 'state' has a fixed leading dimension 2", verdict.Reason);
    }

    [Fact]
    public void Analyze_LeadingDimensionNamedOtherThanTheBatch_CannotBatch()
    {
        var verdict = Analyze(
            [Spec("x", [-1, 4], "batch", ""), Spec("h", [-1, 4], "layers", "")],
            [Spec("y", [-1, 4], "batch", "")]);

        Assert.False(verdict.CanBatch);
        Assert.Contains("leads with dimension 'layers', not the batch dimension 'batch'", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_BatchRepeatedInAnotherPosition_CannotBatch()
    {
        var verdict = Analyze([Spec("x", [-1, -1], "batch", "batch")], [Spec("y", [-1], "batch")]);

        Assert.False(verdict.CanBatch);
        Assert.Contains("at position 1 as well", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_FixedLeadingOutput_CannotBatch()
    {
        var verdict = Analyze([Spec("x", [-1, 4])], [Spec("mean", [1, 4])]);

        Assert.False(verdict.CanBatch);
        Assert.Equal("output 'mean' has a fixed leading dimension 1", verdict.Reason);
    }

    [Fact]
    public void Analyze_NoOutputs_CannotBatch()
    {
        Assert.False(Analyze([Spec("x", [-1, 4])], []).CanBatch);
    }
}
