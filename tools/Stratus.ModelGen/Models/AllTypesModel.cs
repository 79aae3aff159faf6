using Stratus.ModelGen.Onnx;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen.Models;

/// <summary>
/// all-types.onnx: one Identity per KServe v2 datatype, so tensor codecs can be round-tripped
/// through a real ONNX Runtime session for every element type.
/// </summary>
internal static class AllTypesModel
{
    public const string FileName = "all-types.onnx";
    public const string Summary =
        "Codec round-trip: `out_<t>` = Identity(`in_<t>`), each [batch, 3], for t in " +
        "bool, uint8, uint16, uint32, uint64, int8, int16, int32, int64, fp16, fp32, fp64, bytes (STRING).";

    // Suffixes follow the v2 datatype names (BOOL, UINT8, ..., FP16, FP32, FP64, BYTES), lower-cased.
    private static readonly (string Suffix, OnnxDataType Type)[] Types =
    [
        ("bool", OnnxDataType.Bool),
        ("uint8", OnnxDataType.UInt8),
        ("uint16", OnnxDataType.UInt16),
        ("uint32", OnnxDataType.UInt32),
        ("uint64", OnnxDataType.UInt64),
        ("int8", OnnxDataType.Int8),
        ("int16", OnnxDataType.Int16),
        ("int32", OnnxDataType.Int32),
        ("int64", OnnxDataType.Int64),
        ("fp16", OnnxDataType.Float16),
        ("fp32", OnnxDataType.Float),
        ("fp64", OnnxDataType.Double),
        ("bytes", OnnxDataType.String),
    ];

    public static void Write(OutputDirectory output)
    {
        var graph = new OnnxGraphBuilder("all_types")
            .DocString("One Identity per tensor element type, for codec round-trip tests.");
        foreach (var (suffix, type) in Types)
        {
            graph.Input($"in_{suffix}", type, "batch", 3)
                .Output($"out_{suffix}", type, "batch", 3)
                .Node("Identity", [$"in_{suffix}"], [$"out_{suffix}"]);
        }

        output.WriteBytes(FileName, graph.ToModelBytes());
    }
}
