using Stratus.ModelGen.Onnx;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen.Models;

/// <summary>
/// sequence.onnx: a second dynamic dimension (sequence length) besides the batch, so requests may only be merged
/// with requests of the same length; the server's batcher must group them by shape.
/// </summary>
internal static class SequenceModel
{
    public const string FileName = "sequence.onnx";
    public const string Summary =
        "Two dynamic dimensions. In: `tokens` FP32 [batch, length]. " +
        "Out: `total` FP32 [batch, 1] = sum over the sequence.";

    public static void Write(OutputDirectory output)
    {
        var graph = new OnnxGraphBuilder("sequence")
            .DocString("total = ReduceSum(tokens, axes=[1], keepdims=1).")
            .Input("tokens", OnnxDataType.Float, "batch", "length")
            .Output("total", OnnxDataType.Float, "batch", 1)
            .Initializer("axes_1", [1L], 1)
            .Node("ReduceSum", ["tokens", "axes_1"], ["total"], a => a.Int("keepdims", 1));
        output.WriteBytes(FileName, graph.ToModelBytes());
    }
}
