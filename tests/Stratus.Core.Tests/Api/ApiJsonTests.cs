using System.Text.Json;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using Stratus.Core.Models;

namespace Stratus.Core.Tests.Api;

/// <summary>The API's JSON: what the server writes, the client reads back into the same records.</summary>
public sealed class ApiJsonTests
{
    [Fact]
    public void ModelVersion_WrittenByTheServer_ReadsBackWithItsSignature()
    {
        var signature = new ModelSignature([new TensorSpec("features", TensorDataType.Fp32, [-1, 12], ["batch", ""])], [new TensorSpec("label", TensorDataType.Int64, [-1])]);
        var version = new ModelVersion("risk", 2, "ab12", 100, signature, DateTimeOffset.UnixEpoch, "token:1") { Samples = 3 };

        var json = JsonSerializer.Serialize(version, ApiJson.Strict);
        var read = JsonSerializer.Deserialize<ModelVersion>(json, ApiJson.Options)!;

        Assert.Contains("\"dataType\":\"FP32\"", json, StringComparison.Ordinal);
        Assert.Equal(version with { Signature = read.Signature }, read);
        Assert.Equal(["batch", ""], read.Signature.Inputs[0].DimensionNames);
        Assert.Equal([-1L, 12], read.Signature.Inputs[0].Shape);
        Assert.Equal(TensorDataType.Int64, read.Signature.Outputs[0].DataType);
    }

    [Fact]
    public void Options_SkipUnknownFields_StrictRefusesThem()
    {
        const string json = """{"replicas":2,"later":true}""";

        Assert.Equal(2, JsonSerializer.Deserialize<ScaleRequest>(json, ApiJson.Options)!.Replicas);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<ScaleRequest>(json, ApiJson.Strict));
    }

    [Fact]
    public void ToJsonName_IsTheEnumAsTheApiWritesIt()
    {
        Assert.Equal("rolledBack", RolloutState.RolledBack.ToJsonName());
        Assert.Equal("\"rolledBack\"", JsonSerializer.Serialize(RolloutState.RolledBack, ApiJson.Options));
    }
}
