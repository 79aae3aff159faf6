using System.Globalization;
using System.Text.Json;

namespace Stratus.Inference.Tests.Support;

/// <summary>Held-out rows and the outputs the training code's own forward pass computed for them.</summary>
internal sealed class CreditRiskFixture
{
    private CreditRiskFixture(float[][] features, float[][] probabilities, long[] labels)
    {
        Features = features;
        Probabilities = probabilities;
        Labels = labels;
    }

    public float[][] Features { get; }

    public float[][] Probabilities { get; }

    public long[] Labels { get; }

    public static CreditRiskFixture Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestModels.Path("credit-risk.fixture.json")));
        var root = doc.RootElement;
        static float[][] Rows(JsonElement e) => [.. e.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray())];
        return new CreditRiskFixture(
            Rows(root.GetProperty("features")),
            Rows(root.GetProperty("probabilities")),
            [.. root.GetProperty("label").EnumerateArray().Select(v => v.GetInt64())]);
    }

    /// <summary>A v2 JSON request for the given rows, with nested data to exercise the nested form.</summary>
    public string Request(int start, int count, string? id = null)
    {
        var rows = Features.Skip(start).Take(count)
            .Select(r => "[" + string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]");
        var idPart = id is null ? string.Empty : $"\"id\":\"{id}\",";
        return $"{{{idPart}\"inputs\":[{{\"name\":\"features\",\"datatype\":\"FP32\",\"shape\":[{count},12],\"data\":[{string.Join(",", rows)}]}}]}}";
    }
}
