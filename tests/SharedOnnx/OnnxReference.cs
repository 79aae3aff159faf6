using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace Stratus.Testing;

/// <summary>
/// The reference answer to a v2 JSON request: its inputs read straight from the JSON and run through an in-process
/// ONNX Runtime session, sharing no code with the replica's decoder or host. Compiled into the test projects that use
/// the third-party models.
/// </summary>
internal static class OnnxReference
{
    /// <summary>Every output by name, with its shape and values.</summary>
    public static Dictionary<string, (long[] Shape, float[] Data)> Run(InferenceSession session, string json)
    {
        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            foreach (var input in JsonDocument.Parse(json).RootElement.GetProperty("inputs").EnumerateArray())
            {
                var shape = input.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var data = input.GetProperty("data").EnumerateArray();
                names.Add(input.GetProperty("name").GetString()!);
                values.Add(input.GetProperty("datatype").GetString() switch
                {
                    "FP32" => OrtValue.CreateTensorValueFromMemory(data.Select(e => e.GetSingle()).ToArray(), shape),
                    "INT64" => OrtValue.CreateTensorValueFromMemory(data.Select(e => e.GetInt64()).ToArray(), shape),
                    var other => throw new InvalidOperationException($"no reference for {other}"),
                });
            }

            using var options = new RunOptions();
            using var outputs = session.Run(options, names, values, session.OutputNames);
            return session.OutputNames
                .Select((name, i) => (name, outputs[i]))
                .ToDictionary(o => o.name, o => (o.Item2.GetTensorTypeAndShape().Shape, o.Item2.GetTensorDataAsSpan<float>().ToArray()));
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    /// <summary>Whether every value lies within 1e-4 absolute plus 1e-4 relative of the reference; the first that does not, otherwise.</summary>
    public static string? Difference(string what, (long[] Shape, float[] Data) expected, long[] shape, float[] actual)
    {
        if (!expected.Shape.SequenceEqual(shape) || expected.Data.Length != actual.Length)
        {
            return $"{what}: shape [{string.Join(",", shape)}] against [{string.Join(",", expected.Shape)}]";
        }

        for (var i = 0; i < actual.Length; i++)
        {
            var tolerance = 1e-4 + (1e-4 * Math.Abs(expected.Data[i]));
            if (!(Math.Abs(expected.Data[i] - actual[i]) <= tolerance))
            {
                return $"{what}[{i}]: expected {expected.Data[i]}, got {actual[i]}";
            }
        }

        return null;
    }
}
