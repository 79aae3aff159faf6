using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Stratus.Client;

/// <summary>A v2 (Open Inference Protocol) client of the gateway, or of one replica.</summary>
public sealed class InferenceClient(Uri endpoint, string? key = null, HttpMessageHandler? handler = null) : IDisposable
{
    private readonly HttpClient _http = Create(endpoint, key, handler);

    /// <summary>Sends a v2 inference request body (JSON) to a deployment and returns the answer's JSON.</summary>
    public async Task<JsonDocument> InferAsync(string deployment, string requestJson, int? version = null, CancellationToken cancellationToken = default)
    {
        var path = version is { } v ? $"v2/models/{Uri.EscapeDataString(deployment)}/versions/{v}/infer" : $"v2/models/{Uri.EscapeDataString(deployment)}/infer";
        using var content = new StringContent(requestJson, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(path, content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await StratusClient.ErrorAsync(response, cancellationToken);
        }

        return await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
    }

    /// <summary>The deployment's model metadata (name, versions, inputs and outputs).</summary>
    public async Task<JsonDocument> MetadataAsync(string deployment, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync($"v2/models/{Uri.EscapeDataString(deployment)}", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await StratusClient.ErrorAsync(response, cancellationToken);
        }

        return await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
    }

    private static HttpClient Create(Uri endpoint, string? key, HttpMessageHandler? handler)
    {
        var http = new HttpClient(handler ?? new SocketsHttpHandler { UseProxy = false }, disposeHandler: true) { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(100) };
        if (!string.IsNullOrEmpty(key))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    public void Dispose() => _http.Dispose();
}
