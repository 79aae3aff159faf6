using System.Text.Json;

namespace Stratus.Gateway.Tests;

/// <summary>v2 request bodies for the credit-risk model: one per held-out row of models/credit-risk.fixture.json.</summary>
internal static class CreditRiskRequests
{
    private static readonly string[] Rows = [.. JsonDocument.Parse(File.ReadAllText(Stratus.Testing.RepositoryFiles.Model("credit-risk.fixture.json")))
        .RootElement.GetProperty("features").EnumerateArray().Select(row => row.GetRawText())];

    public static int Count => Rows.Length;

    /// <summary>A one-row request of row <paramref name="index"/> (modulo the rows there are); with <paramref name="binaryOutput"/>, its answer comes as binary tensor data.</summary>
    public static string Row(int index, bool binaryOutput = false) =>
        $$"""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":{{Rows[index % Rows.Length]}}}]{{(binaryOutput ? ""","parameters":{"binary_data_output":true}""" : string.Empty)}}}""";

    /// <summary>A request the model refuses (400): the shape says 11 features.</summary>
    public const string Malformed = """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,11],"data":[1,2,3,4,5,6,7,8,9,10,11]}]}""";
}
