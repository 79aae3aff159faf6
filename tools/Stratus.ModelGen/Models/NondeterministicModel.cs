using Stratus.ModelGen.Onnx;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen.Models;

/// <summary>
/// nondeterministic.onnx: adds unseeded random noise to its input, so no two answers agree. A model that cannot pass a
/// consistency check between replicas: the fault of the model, not of any cloud.
/// </summary>
internal static class NondeterministicModel
{
    public const string FileName = "nondeterministic.onnx";
    public const string Summary =
        "Answers differ on every run (a faulty model for consistency-check tests). In: `x` FP32 [batch, 4]. " +
        "Out: `y` FP32 [batch, 4] = x + RandomNormalLike(x), unseeded.";

    public static void Write(OutputDirectory output)
    {
        var graph = new OnnxGraphBuilder("nondeterministic")
            .DocString("y = x + noise, with noise drawn afresh on every run (no seed).")
            .Input("x", OnnxDataType.Float, "batch", 4)
            .Output("y", OnnxDataType.Float, "batch", 4)
            .Node("RandomNormalLike", ["x"], ["noise"])
            .Node("Add", ["x", "noise"], ["y"]);
        output.WriteBytes(FileName, graph.ToModelBytes());
    }
}
