using Stratus.ModelGen.Numerics;
using Stratus.ModelGen.Onnx;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen.Models;

/// <summary>
/// mlp-large.onnx: an untrained 3.17M-parameter MLP whose only job is to cost real compute
/// in benchmarks. He-normal weights keep activations at a sane scale through the ReLUs.
/// </summary>
internal static class MlpLargeModel
{
    public const string FileName = "mlp-large.onnx";
    public const string RequestFileName = "mlp-large.request.json";
    public const string Summary =
        "Benchmark MLP, random He-normal weights (3,165,200 params): 512 -> 2048 -> ReLU -> 1024 -> ReLU -> 16. " +
        "In: `input` FP32 [batch, 512]. Out: `output` FP32 [batch, 16].";

    private const int WeightSeed = 512_2048;
    private const int RequestSeed = 512_0001;
    private const float BiasRange = 0.01f;
    private static readonly int[] LayerSizes = [512, 2048, 1024, 16];

    public static void Write(OutputDirectory output)
    {
        var rng = new RandomSource(WeightSeed);
        var graph = new OnnxGraphBuilder("mlp_large")
            .DocString("Benchmark MLP with random weights (no meaningful outputs): 512-2048-1024-16, ReLU.")
            .Input("input", OnnxDataType.Float, "batch", LayerSizes[0])
            .Output("output", OnnxDataType.Float, "batch", LayerSizes[^1]);

        var current = "input";
        for (var l = 0; l < LayerSizes.Length - 1; l++)
        {
            int inSize = LayerSizes[l], outSize = LayerSizes[l + 1];
            var std = Math.Sqrt(2.0 / inSize);
            var weights = new float[inSize * outSize];
            for (var i = 0; i < weights.Length; i++)
            {
                weights[i] = (float)(rng.NextNormal() * std);
            }

            var biases = new float[outSize];
            for (var i = 0; i < biases.Length; i++)
            {
                biases[i] = (float)rng.NextUniform(-BiasRange, BiasRange);
            }

            var last = l == LayerSizes.Length - 2;
            var gemmOut = last ? "output" : $"dense{l + 1}";
            graph.Initializer($"W{l + 1}", weights, inSize, outSize)
                .Initializer($"b{l + 1}", biases, outSize)
                .Node("Gemm", [current, $"W{l + 1}", $"b{l + 1}"], [gemmOut]);
            current = gemmOut;
            if (!last)
            {
                graph.Node("Relu", [gemmOut], [$"hidden{l + 1}"]);
                current = $"hidden{l + 1}";
            }
        }

        output.WriteBytes(FileName, graph.ToModelBytes());

        var requestRng = new RandomSource(RequestSeed);
        var values = Enumerable.Range(0, LayerSizes[0]).Select(_ => JsonText.Rounded(requestRng.NextUniform(-1, 1), 6)).ToArray();
        output.WriteText(
            RequestFileName,
            new InferenceRequestJson("example").Input("input", "FP32", [1, LayerSizes[0]], values).ToString());
    }
}
