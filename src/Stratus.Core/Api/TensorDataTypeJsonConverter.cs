using System.Text.Json;
using System.Text.Json.Serialization;
using Stratus.Core.Models;

namespace Stratus.Core.Api;

/// <summary>Datatypes in the API as the v2 protocol names them (<c>FP32</c>, <c>INT64</c>, <c>BYTES</c>…), not as C# enum names.</summary>
public sealed class TensorDataTypeJsonConverter : JsonConverter<TensorDataType>
{
    public override TensorDataType Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TensorDataTypes.TryParse(reader.GetString(), out var type) ? type : throw new JsonException($"unknown datatype '{reader.GetString()}'");

    public override void Write(Utf8JsonWriter writer, TensorDataType value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToWireName());
}
