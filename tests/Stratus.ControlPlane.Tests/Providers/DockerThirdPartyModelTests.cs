using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Providers.Docker;
using Stratus.Core.Clouds;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Providers;

/// <summary>
/// The third-party models (scalar inputs, recurrent state, dynamic dimensions) served from a container of the replica
/// image on a real engine: each answer agrees with ONNX Runtime in this process within 1e-4.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerEngine.Collection)]
public sealed class DockerThirdPartyModelTests(DockerEngine engine) : IAsyncLifetime
{
    private readonly string _cluster = $"test-{Guid.NewGuid().ToString("N")[..10]}";
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-docker-models-{Guid.NewGuid():N}");

    public static TheoryData<string> Models() => [.. ThirdPartyModels.All.Select(m => m.Name)];

    public Task InitializeAsync() => Task.CompletedTask;

    private DockerCloudProvider CreateProvider()
    {
        var settings = new DockerCloudSettings(engine.Endpoint, null, null, "127.0.0.1");
        var cloud = new CloudSpec(
            "docker-models", "docker", "test-1", "us", new GeoLocation(0, 0),
            new Dictionary<string, int> { ["cpu-small"] = 1 },
            new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m) },
            TimeSpan.Zero)
        {
            Shapes = new Dictionary<string, ShapeResources> { ["cpu-small"] = new(1, 1024) },
            Settings = settings,
        };
        return new DockerCloudProvider(cloud, settings, _cluster, _data);
    }

    public async Task DisposeAsync()
    {
        await engine.RemoveClusterAsync(_cluster);
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task ThirdPartyModel_InAContainer_AnswersAsOnnxRuntimeDoes(string name)
    {
        var model = ThirdPartyModels.All.Single(m => m.Name == name);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(model.Path)));

        await using var provider = CreateProvider();
        var handle = await provider.LaunchAsync(new ReplicaLaunch("r1", model.Name, "1", model.Path, sha256, "cpu-small"));

        using var session = new InferenceSession(model.Path);
        using var client = new HttpClient { BaseAddress = handle.Endpoint };
        foreach (var request in model.Requests)
        {
            using var response = await client.PostAsync($"v2/models/{model.Name}/infer", new StringContent(request, Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.IsSuccessStatusCode, body.ToString());
            var expected = OnnxReference.Run(session, request);
            foreach (var output in body.GetProperty("outputs").EnumerateArray())
            {
                var outputName = output.GetProperty("name").GetString()!;
                var difference = OnnxReference.Difference(
                    $"{model.Name} {outputName}",
                    expected[outputName],
                    [.. output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64())],
                    [.. output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())]);
                Assert.Null(difference);
            }
        }
    }
}
