using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Stratus.Inference.Server;

namespace Stratus.Inference.Tests.Support;

/// <summary>A real replica (Kestrel on 127.0.0.1, port 0, a real ONNX Runtime session) and a client for it.</summary>
internal sealed class TestReplica : IAsyncDisposable
{
    private TestReplica(ReplicaHost host, HttpClient client)
    {
        Host = host;
        Client = client;
    }

    public ReplicaHost Host { get; }

    public HttpClient Client { get; }

    public static async Task<TestReplica> StartAsync(string modelPath, string name, Action<ReplicaOptions>? configure = null)
    {
        var options = new ReplicaOptions { ModelPath = modelPath, ModelName = name, Port = 0 };
        configure?.Invoke(options);
        var host = ReplicaHost.Create(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await host.StartAsync();
        await host.ModelLoaded;
        var client = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(30) };
        return new TestReplica(host, client);
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        Client.PostAsync(path, new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));

    public Task<HttpResponseMessage> InferAsync(string json) => PostJsonAsync($"v2/models/{Host.Model!.Name}/infer", json);

    /// <summary>Posts and returns the parsed JSON answer, asserting the status.</summary>
    public async Task<JsonElement> InferOkAsync(string json)
    {
        using var response = await InferAsync(json);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Posts and returns the error message, asserting the status.</summary>
    public async Task<string> InferErrorAsync(string json, int expectedStatus)
    {
        using var response = await InferAsync(json);
        return await ReadErrorAsync(response, expectedStatus);
    }

    public static async Task<string> ReadErrorAsync(HttpResponseMessage response, int expectedStatus)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expectedStatus == (int)response.StatusCode, $"expected {expectedStatus}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(error));
        return error!;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}

internal static class JsonExtensions
{
    public static JsonElement Output(this JsonElement response, string name) =>
        response.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == name);

    public static float[] Floats(this JsonElement output) => [.. output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];

    public static long[] Longs(this JsonElement output) => [.. output.GetProperty("data").EnumerateArray().Select(e => e.GetInt64())];

    public static long[] ShapeOf(this JsonElement output) => [.. output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64())];
}
