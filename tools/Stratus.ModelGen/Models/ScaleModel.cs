using Stratus.ModelGen.Onnx;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen.Models;

/// <summary>
/// scale.onnx: has a rank-0 input, so requests cannot be concatenated along a batch
/// dimension; the server must detect this and serve the model unbatched.
/// </summary>
internal static class ScaleModel
{
    public const string FileName = "scale.onnx";
    public const string Summary =
        "Scalar input (must be served unbatched). In: `x` FP32 [batch, 3], `factor` FP32 [] (rank 0). " +
        "Out: `y` FP32 [batch, 3] = x * factor.";

    public static void Write(OutputDirectory output)
    {
        var graph = new OnnxGraphBuilder("scale")
            .DocString("y = x * factor, where factor is a scalar input.")
            .Input("x", OnnxDataType.Float, "batch", 3)
            .Input("factor", OnnxDataType.Float)
            .Output("y", OnnxDataType.Float, "batch", 3)
            .Node("Mul", ["x", "factor"], ["y"]);
        output.WriteBytes(FileName, graph.ToModelBytes());
    }
}
