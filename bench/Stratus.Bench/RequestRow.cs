using System.Text.Json;

namespace Stratus.Bench;

/// <summary>
/// The single input of a batch-1 v2 JSON request (such as <c>models/mlp-large.request.json</c>): its name, its
/// per-row shape and its values, both as floats (for direct runs) and as their JSON text (for request bodies).
/// </summary>
internal sealed class RequestRow
{
    private readonly string[] _texts;

    private RequestRow(string name, long[] rowShape, float[] values, string[] texts)
    {
        Name = name;
        RowShape = rowShape;
        Values = values;
        _texts = texts;
    }

    public string Name { get; }

    /// <summary>The input's shape without its leading batch dimension.</summary>
    public long[] RowShape { get; }

    public float[] Values { get; }

    public static RequestRow Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var inputs = document.RootElement.GetProperty("inputs");
        if (inputs.GetArrayLength() != 1)
        {
            throw new InvalidDataException($"{path}: expected exactly one input, found {inputs.GetArrayLength()}");
        }

        var input = inputs[0];
        if (input.GetProperty("datatype").GetString() != "FP32")
        {
            throw new InvalidDataException($"{path}: expected an FP32 input");
        }

        var shape = input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (shape.Length < 1 || shape[0] != 1)
        {
            throw new InvalidDataException($"{path}: expected a batch of one row, shape [{string.Join(',', shape)}]");
        }

        var numbers = new List<JsonElement>();
        Flatten(input.GetProperty("data"), numbers);
        return new RequestRow(
            input.GetProperty("name").GetString()!,
            shape[1..],
            [.. numbers.Select(n => n.GetSingle())],
            [.. numbers.Select(n => n.GetRawText())]);
    }

    /// <summary>A v2 JSON request body of <paramref name="rows"/> copies of the row, values written as in the source.</summary>
    public byte[] ToRequestBody(int rows)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("id", $"bench-{rows}");
            json.WriteStartArray("inputs");
            json.WriteStartObject();
            json.WriteString("name", Name);
            json.WriteString("datatype", "FP32");
            json.WriteStartArray("shape");
            json.WriteNumberValue(rows);
            foreach (var dim in RowShape)
            {
                json.WriteNumberValue(dim);
            }

            json.WriteEndArray();
            json.WriteStartArray("data");
            for (var r = 0; r < rows; r++)
            {
                foreach (var text in _texts)
                {
                    json.WriteRawValue(text, skipInputValidation: true);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void Flatten(JsonElement element, List<JsonElement> into)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            into.Add(element);
            return;
        }

        foreach (var item in element.EnumerateArray())
        {
            Flatten(item, into);
        }
    }
}
