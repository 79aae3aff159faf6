using System.Text;

namespace Stratus.ModelGen.Output;

/// <summary>
/// Builds a KServe v2 (Open Inference Protocol) request body:
/// <c>{"id": ..., "inputs": [{"name", "datatype", "shape", "data"}]}</c> with row-major flat data.
/// </summary>
internal sealed class InferenceRequestJson
{
    private readonly string _id;
    private readonly List<string> _inputs = [];

    public InferenceRequestJson(string id) => _id = id;

    public InferenceRequestJson Input(string name, string datatype, long[] shape, IEnumerable<string> data)
    {
        var items = data.ToArray();
        var expected = shape.Aggregate(1L, (a, b) => a * b);
        if (items.Length != expected)
        {
            throw new ArgumentException($"Input '{name}' has {items.Length} values, shape needs {expected}.", nameof(data));
        }

        _inputs.Add(
            "    {\n" +
            $"      \"name\": {JsonText.String(name)},\n" +
            $"      \"datatype\": {JsonText.String(datatype)},\n" +
            $"      \"shape\": {JsonText.Array(shape.Select(JsonText.Integer))},\n" +
            $"      \"data\": {JsonText.Array(items)}\n" +
            "    }");
        return this;
    }

    public override string ToString()
    {
        var json = new StringBuilder();
        json.Append("{\n");
        json.Append($"  \"id\": {JsonText.String(_id)},\n");
        json.Append("  \"inputs\": [\n");
        json.Append(string.Join(",\n", _inputs));
        json.Append("\n  ]\n}\n");
        return json.ToString();
    }
}
