using Stratus.ModelGen.Onnx;

namespace Stratus.ControlPlane.Tests.Support;

/// <summary>Models made to hurt whoever loads them, built with the model generator's own ONNX writer.</summary>
internal static class HostileModels
{
    /// <summary>Elements of the expanding model's constant: 2^28 FP32, 1 GiB once ONNX Runtime folds it at load.</summary>
    public const long ExpandedElements = 1L << 28;

    /// <summary>
    /// <c>y = x + ReduceSum(ConstantOfShape([2^28]))</c>: a file of under 200 bytes whose constant folding at load
    /// time allocates a gigabyte.
    /// </summary>
    public static byte[] Expanding() => new OnnxGraphBuilder("expanding")
        .Input("x", OnnxDataType.Float, 1)
        .Output("y", OnnxDataType.Float, 1)
        .Initializer("shape", [ExpandedElements], 1)
        .Node("ConstantOfShape", ["shape"], ["zeros"])
        .Node("ReduceSum", ["zeros"], ["total"])
        .Node("Add", ["x", "total"], ["y"])
        .ToModelBytes();
}
