using System.Globalization;

namespace Stratus.ModelGen.Onnx;

/// <summary>
/// One dimension of a graph input/output: either a fixed size or a symbolic name
/// (dim_param, e.g. "batch"). Implicit conversions let model definitions list
/// dims as <c>"batch", 12</c>.
/// </summary>
internal readonly record struct Dim
{
    private Dim(long? value, string? param)
    {
        Value = value;
        Param = param;
    }

    public long? Value { get; }

    public string? Param { get; }

    public static implicit operator Dim(long value) => FromValue(value);

    public static implicit operator Dim(string param) => FromParam(param);

    public static Dim FromValue(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return new Dim(value, null);
    }

    public static Dim FromParam(string param)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(param);
        return new Dim(null, param);
    }

    public override string ToString() => Param ?? Value!.Value.ToString(CultureInfo.InvariantCulture);
}
