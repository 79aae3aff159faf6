using Stratus.ModelGen.Onnx;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen.Models;

/// <summary>
/// multi-input.onnx: four inputs of four element types (FP32, INT64, BOOL, STRING) and three
/// outputs, with simple arithmetic so results can be checked by hand.
/// </summary>
internal static class MultiInputModel
{
    public const string FileName = "multi-input.onnx";
    public const string RequestFileName = "multi-input.request.json";
    public const string Summary =
        "Mixed input types. In: `features` FP32 [batch, 4], `counts` INT64 [batch, 3], `mask` BOOL [batch, 4], " +
        "`tag` STRING [batch, 1]. Out: `score` FP32 [batch, 1] = sum(features where mask) + 0.5 * sum(counts), " +
        "`count_total` INT64 [batch, 1] = sum(counts), `tag_out` STRING [batch, 1] = tag.";

    public const string ExpectedRequestOutputs =
        "score = [[11], [8.5]], count_total = [[6], [15]], tag_out = [[\"alpha\"], [\"beta\"]]";

    public static void Write(OutputDirectory output)
    {
        var graph = new OnnxGraphBuilder("multi_input")
            .DocString("score = ReduceSum(Where(mask, features, 0)) + 0.5 * ReduceSum(Cast<float>(counts)); " +
                       "count_total = ReduceSum(counts); tag_out = Identity(tag). All reductions over axis 1, keepdims.")
            .Input("features", OnnxDataType.Float, "batch", 4)
            .Input("counts", OnnxDataType.Int64, "batch", 3)
            .Input("mask", OnnxDataType.Bool, "batch", 4)
            .Input("tag", OnnxDataType.String, "batch", 1)
            .Output("score", OnnxDataType.Float, "batch", 1)
            .Output("count_total", OnnxDataType.Int64, "batch", 1)
            .Output("tag_out", OnnxDataType.String, "batch", 1)

            // Scalars (no dims) broadcast against any shape; since opset 13 ReduceSum takes axes as an input.
            .Initializer("zero", [0f])
            .Initializer("half", [0.5f])
            .Initializer("axes_1", [1L], 1)
            .Node("Where", ["mask", "features", "zero"], ["masked_features"])
            .Node("ReduceSum", ["masked_features", "axes_1"], ["masked_sum"], a => a.Int("keepdims", 1))
            .Node("Cast", ["counts"], ["counts_float"], a => a.Int("to", (long)OnnxDataType.Float))
            .Node("ReduceSum", ["counts_float", "axes_1"], ["counts_sum_float"], a => a.Int("keepdims", 1))
            .Node("Mul", ["counts_sum_float", "half"], ["counts_half"])
            .Node("Add", ["masked_sum", "counts_half"], ["score"])
            .Node("ReduceSum", ["counts", "axes_1"], ["count_total"], a => a.Int("keepdims", 1))
            .Node("Identity", ["tag"], ["tag_out"]);
        output.WriteBytes(FileName, graph.ToModelBytes());

        // Row 0: 1 + 3 + 4 + 0.5 * 6 = 11; row 1: -1.5 + 2.5 + 0.5 * 15 = 8.5.
        var request = new InferenceRequestJson("example")
            .Input("features", "FP32", [2, 4], new[] { 1f, 2f, 3f, 4f, 0.5f, -1.5f, 2.5f, -3.5f }.Select(JsonText.Float))
            .Input("counts", "INT64", [2, 3], new long[] { 1, 2, 3, 10, 0, 5 }.Select(JsonText.Integer))
            .Input("mask", "BOOL", [2, 4], new[] { true, false, true, true, false, true, true, false }.Select(JsonText.Bool))
            .Input("tag", "BYTES", [2, 1], new[] { "alpha", "beta" }.Select(JsonText.String));
        output.WriteText(RequestFileName, request.ToString());
    }
}
