namespace Stratus.Core.Models;

/// <summary>Tensor element types by their Open Inference Protocol (v2) names.</summary>
public enum TensorDataType
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,
    Bytes,
}

public static class TensorDataTypes
{
    private static readonly string[] WireNames =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    private static readonly int[] Sizes = [1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 0];

    /// <summary>The v2 wire name, e.g. <c>FP32</c>.</summary>
    public static string ToWireName(this TensorDataType type) => WireNames[(int)type];

    /// <summary>Bytes per element in the binary and in-memory layout; 0 for variable-length <see cref="TensorDataType.Bytes"/>.</summary>
    public static int ElementSize(this TensorDataType type) => Sizes[(int)type];

    public static bool IsFixedSize(this TensorDataType type) => type != TensorDataType.Bytes;

    public static bool TryParse(ReadOnlySpan<char> wireName, out TensorDataType type)
    {
        for (var i = 0; i < WireNames.Length; i++)
        {
            if (wireName.SequenceEqual(WireNames[i]))
            {
                type = (TensorDataType)i;
                return true;
            }
        }

        type = default;
        return false;
    }

    public static IReadOnlyList<string> AllWireNames => WireNames;
}
