using System.Text.Json;
using Stratus.Inference.Tests.Support;

namespace Stratus.Inference.Tests.Server;

/// <summary>Every v2 datatype through a real ONNX Runtime session (Identity per type), as JSON and as binary.</summary>
public sealed class DatatypeTests : IAsyncLifetime
{
    // type suffix, v2 datatype, JSON values, little-endian bytes of the same values (null for BYTES)
    private static readonly (string Suffix, string Datatype, string Json, byte[] Binary)[] Cases =
    [
        ("bool", "BOOL", "[true,false,true]", [1, 0, 1]),
        ("uint8", "UINT8", "[0,255,7]", [0, 255, 7]),
        ("uint16", "UINT16", "[0,65535,3]", BinaryInference.Bytes<ushort>(0, 65535, 3)),
        ("uint32", "UINT32", "[0,4294967295,5]", BinaryInference.Bytes(0u, 4294967295u, 5u)),
        ("uint64", "UINT64", "[0,18446744073709551615,9]", BinaryInference.Bytes(0UL, ulong.MaxValue, 9UL)),
        ("int8", "INT8", "[-128,127,0]", BinaryInference.Bytes<sbyte>(-128, 127, 0)),
        ("int16", "INT16", "[-32768,32767,1]", BinaryInference.Bytes<short>(-32768, 32767, 1)),
        ("int32", "INT32", "[-2147483648,2147483647,2]", BinaryInference.Bytes(int.MinValue, int.MaxValue, 2)),
        ("int64", "INT64", "[-9223372036854775808,9223372036854775807,3]", BinaryInference.Bytes(long.MinValue, long.MaxValue, 3L)),
        ("fp16", "FP16", "[0.5,-2,65504]", BinaryInference.Bytes((Half)0.5, (Half)(-2), (Half)65504)),
        ("fp32", "FP32", "[1.5,-3.25,1E-30]", BinaryInference.Bytes(1.5f, -3.25f, 1e-30f)),
        ("fp64", "FP64", "[0.1,-1E+300,3]", BinaryInference.Bytes(0.1, -1e300, 3.0)),
        ("bytes", "BYTES", "[\"a\",\"\",\"漢字 ✓\"]", BinaryInference.Strings("a", "", "漢字 ✓")),
    ];

    private TestReplica _replica = null!;

    public async Task InitializeAsync() => _replica = await TestReplica.StartAsync(TestModels.AllTypes, "all-types");

    public async Task DisposeAsync() => await _replica.DisposeAsync();

    [Fact]
    public async Task Infer_EveryDatatypeAsJson_RoundTripsThroughTheModel()
    {
        var inputs = string.Join(",", Cases.Select(c => $"{{\"name\":\"in_{c.Suffix}\",\"datatype\":\"{c.Datatype}\",\"shape\":[1,3],\"data\":{c.Json}}}"));

        var response = await _replica.InferOkAsync($"{{\"inputs\":[{inputs}]}}");

        foreach (var (suffix, datatype, json, _) in Cases)
        {
            var output = response.Output($"out_{suffix}");
            Assert.Equal(datatype, output.GetProperty("datatype").GetString());
            Assert.Equal([1L, 3L], output.ShapeOf());
            Assert.Equal(Normalize(json, datatype), Normalize(output.GetProperty("data").GetRawText(), datatype));
        }
    }

    [Fact]
    public async Task Infer_EveryDatatypeAsBinary_RoundTripsByteForByte()
    {
        var inputs = string.Join(",", Cases.Select(c =>
            $"{{\"name\":\"in_{c.Suffix}\",\"datatype\":\"{c.Datatype}\",\"shape\":[1,3],\"parameters\":{{\"binary_data_size\":{c.Binary.Length}}}}}"));
        using var content = BinaryInference.Content(
            $"{{\"inputs\":[{inputs}],\"parameters\":{{\"binary_data_output\":true}}}}",
            [.. Cases.Select(c => c.Binary)]);

        using var response = await _replica.Client.PostAsync("v2/models/all-types/infer", content);
        var (header, binary) = await BinaryInference.ReadAsync(response);

        foreach (var (suffix, datatype, _, bytes) in Cases)
        {
            Assert.Equal(datatype, header.Output($"out_{suffix}").GetProperty("datatype").GetString());
            Assert.Equal(bytes, binary[$"out_{suffix}"]);
        }
    }

    [Fact]
    public async Task Infer_BinaryInputJsonOutput_DecodesEveryType()
    {
        var inputs = string.Join(",", Cases.Select(c =>
            $"{{\"name\":\"in_{c.Suffix}\",\"datatype\":\"{c.Datatype}\",\"shape\":[1,3],\"parameters\":{{\"binary_data_size\":{c.Binary.Length}}}}}"));
        using var content = BinaryInference.Content($"{{\"inputs\":[{inputs}]}}", [.. Cases.Select(c => c.Binary)]);

        using var response = await _replica.Client.PostAsync("v2/models/all-types/infer", content);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        foreach (var (suffix, datatype, json, _) in Cases)
        {
            Assert.Equal(Normalize(json, datatype), Normalize(body.Output($"out_{suffix}").GetProperty("data").GetRawText(), datatype));
        }
    }

    [Fact]
    public async Task Infer_WrongTypeForOneInput_Is400AndNamesIt()
    {
        var inputs = string.Join(",", Cases.Select(c =>
            $"{{\"name\":\"in_{c.Suffix}\",\"datatype\":\"{(c.Suffix == "int16" ? "INT32" : c.Datatype)}\",\"shape\":[1,3],\"data\":{c.Json}}}"));

        var error = await _replica.InferErrorAsync($"{{\"inputs\":[{inputs}]}}", 400);

        Assert.Contains("input 'in_int16' has datatype INT32 but model 'all-types' expects INT16", error, StringComparison.Ordinal);
    }

    /// <summary>Compares values, not spellings: 1E-30 and 1e-30 are the same FP32.</summary>
    private static string[] Normalize(string json, string datatype) =>
        [.. JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => datatype switch
        {
            "FP16" or "FP32" => e.GetSingle().ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "FP64" => e.GetDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "BYTES" => e.GetString()!,
            _ => e.GetRawText(),
        })];
}
