using Stratus.ModelGen.Onnx;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen.Models;

/// <summary>
/// state.onnx: the batch dimension is not the leading dimension of every tensor (the
/// recurrent-style state is [2, batch, 4]), so the server must serve it unbatched.
/// </summary>
internal static class StateModel
{
    public const string FileName = "state.onnx";
    public const string Summary =
        "Batch not leading everywhere (must be served unbatched). In: `x` FP32 [batch, 4], `state` FP32 [2, batch, 4]. " +
        "Out: `y` FP32 [batch, 4] = x + sum(state, axis 0), `state_out` FP32 [2, batch, 4] = 0.5 * state.";

    public static void Write(OutputDirectory output)
    {
        var graph = new OnnxGraphBuilder("state")
            .DocString("y = x + ReduceSum(state, axes=[0], keepdims=0); state_out = 0.5 * state.")
            .Input("x", OnnxDataType.Float, "batch", 4)
            .Input("state", OnnxDataType.Float, 2, "batch", 4)
            .Output("y", OnnxDataType.Float, "batch", 4)
            .Output("state_out", OnnxDataType.Float, 2, "batch", 4)
            .Initializer("axes_0", [0L], 1)
            .Initializer("half", [0.5f])
            .Node("ReduceSum", ["state", "axes_0"], ["state_sum"], a => a.Int("keepdims", 0))
            .Node("Add", ["x", "state_sum"], ["y"])
            .Node("Mul", ["state", "half"], ["state_out"]);
        output.WriteBytes(FileName, graph.ToModelBytes());
    }
}
