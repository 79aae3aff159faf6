using Stratus.Core.Models;

namespace Stratus.Inference.Protocol;

/// <summary>
/// A tensor of a request or a response. Fixed-size types keep their elements as little-endian bytes in
/// <see cref="Raw"/> (the layout of ONNX Runtime and of the v2 binary extension, so neither side converts);
/// <see cref="TensorDataType.Bytes"/> keeps one byte string per element in <see cref="Elements"/>.
/// </summary>
public sealed class InferTensor
{
    public required string Name { get; init; }

    public required TensorDataType DataType { get; init; }

    public required long[] Shape { get; init; }

    public ReadOnlyMemory<byte> Raw { get; init; }

    public byte[][]? Elements { get; init; }

    public long ElementCount => ShapeMath.ElementCount(Shape);
}

public static class ShapeMath
{
    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            count = checked(count * dim);
        }

        return count;
    }
}
