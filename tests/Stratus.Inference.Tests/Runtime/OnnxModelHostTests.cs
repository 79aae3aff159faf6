using Stratus.Core.Models;
using Stratus.Inference.Runtime;
using Stratus.Inference.Tests.Support;

namespace Stratus.Inference.Tests.Runtime;

public sealed class OnnxModelHostTests
{
    [Fact]
    public void Load_CreditRisk_ExtractsTheSignatureWithSymbolicBatch()
    {
        using var model = OnnxModelHost.Load(TestModels.CreditRisk);

        var input = Assert.Single(model.Signature.Inputs);
        Assert.Equal(new TensorSpec("features", TensorDataType.Fp32, [-1, 12]).Shape, input.Shape);
        Assert.Equal("batch", input.DimensionNames[0]);
        Assert.Equal(["probabilities", "label"], model.Signature.Outputs.Select(o => o.Name));
        Assert.Equal(TensorDataType.Int64, model.Signature.FindOutput("label")!.DataType);
    }

    [Fact]
    public void Load_AllTypes_MapsEveryOnnxTypeToItsV2Name()
    {
        using var model = OnnxModelHost.Load(TestModels.AllTypes);

        var types = model.Signature.Inputs.ToDictionary(i => i.Name, i => i.DataType.ToWireName());
        Assert.Equal("BOOL", types["in_bool"]);
        Assert.Equal("FP16", types["in_fp16"]);
        Assert.Equal("BYTES", types["in_bytes"]);
        Assert.Equal("UINT64", types["in_uint64"]);
        Assert.Equal(13, types.Count);
    }

    [Fact]
    public void Load_ScalarInput_HasRankZero()
    {
        using var model = OnnxModelHost.Load(TestModels.Scale);

        Assert.Empty(model.Signature.FindInput("factor")!.Shape);
    }

    [Fact]
    public void Load_CorruptFile_IsRefusedWithTheRuntimesReason()
    {
        var error = Assert.Throws<ModelLoadException>(() => OnnxModelHost.Load(TestModels.Corrupt));

        Assert.Contains("ONNX Runtime cannot load 'corrupt.onnx'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Protobuf", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Load_NotAFileAtAll_IsRefused()
    {
        var path = Path.Combine(Path.GetTempPath(), $"stratus-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "this is a text file, not a model");
        try
        {
            Assert.Throws<ModelLoadException>(() => OnnxModelHost.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WarmUp_RunsEveryModelOnZeros()
    {
        foreach (var path in new[] { TestModels.CreditRisk, TestModels.MultiInput, TestModels.AllTypes, TestModels.Scale, TestModels.State })
        {
            using var model = OnnxModelHost.Load(path);
            WarmUp.Run(model);
        }
    }
}
