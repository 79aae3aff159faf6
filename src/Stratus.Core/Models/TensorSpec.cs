namespace Stratus.Core.Models;

/// <summary>One input or output of a model: name, element type and shape, where -1 marks a dynamic dimension.</summary>
/// <param name="DimensionNames">Symbolic names of dimensions as the model declares them (empty string where none).</param>
public sealed record TensorSpec(string Name, TensorDataType DataType, IReadOnlyList<long> Shape, IReadOnlyList<string> DimensionNames)
{
    public TensorSpec(string name, TensorDataType dataType, IReadOnlyList<long> shape)
        : this(name, dataType, shape, [.. shape.Select(_ => string.Empty)])
    {
    }

    public int Rank => Shape.Count;

    public bool IsDynamic(int dimension) => Shape[dimension] < 0;

    /// <summary>Whether a concrete shape fits this spec: same rank and every fixed dimension equal.</summary>
    public bool Accepts(ReadOnlySpan<long> shape)
    {
        if (shape.Length != Shape.Count)
        {
            return false;
        }

        for (var i = 0; i < shape.Length; i++)
        {
            if (Shape[i] >= 0 && Shape[i] != shape[i])
            {
                return false;
            }
        }

        return true;
    }

    public string FormatShape() => FormatShape(Shape);

    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";
}
