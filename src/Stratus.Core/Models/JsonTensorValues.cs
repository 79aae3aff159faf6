using System.Text;
using System.Text.Json;

namespace Stratus.Core.Models;

/// <summary>How a wrong value in a tensor's JSON <c>data</c> is described: what the datatype expects, what was found.</summary>
public static class JsonTensorValues
{
    /// <summary>What a JSON value of the datatype must be ("a number", "true or false", ...).</summary>
    public static string Expected(TensorDataType type) => type switch
    {
        TensorDataType.Bool => "true or false",
        TensorDataType.Bytes => "a string",
        TensorDataType.Fp16 => "a number within the range of FP16 (±65504)",
        TensorDataType.Fp32 => "a number within the range of FP32 (±3.4028235E+38)",
        TensorDataType.Fp64 => "a number within the range of FP64 (±1.7976931348623157E+308)",
        _ => $"an integer within the range of {type.ToWireName()}",
    };

    /// <summary>The token the reader stands on, as the error shows it (strings quoted).</summary>
    public static string Found(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.String => $"\"{reader.GetString()}\"",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        var other => other.ToString(),
    };
}
