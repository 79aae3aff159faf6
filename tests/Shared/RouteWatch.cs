using System.Net.Http.Json;
using System.Text.Json;

namespace Stratus.Testing;

/// <summary>Follows a control plane's route table with the long-poll, as a gateway does, until a condition holds.</summary>
internal static class RouteWatch
{
    /// <summary>Waits (bounded) until the deployment's route has <paramref name="wanted"/> endpoints; returns their replica ids, sorted.</summary>
    public static async Task<string[]> WaitForEndpointsAsync(HttpClient client, string deployment, int wanted)
    {
        long after = 0;
        for (var attempt = 0; attempt < 60; attempt++)
        {
            var table = await client.GetFromJsonAsync<JsonElement>($"api/v1/routes?after={after}&timeoutSeconds=5");
            after = table.GetProperty("version").GetInt64();
            var route = table.GetProperty("routes").EnumerateArray().FirstOrDefault(r => r.GetProperty("deployment").GetString() == deployment);
            var endpoints = route.ValueKind == JsonValueKind.Undefined ? [] : route.GetProperty("endpoints").EnumerateArray().ToArray();
            if (endpoints.Length == wanted)
            {
                return [.. endpoints.Select(e => e.GetProperty("replicaId").GetString()!).Order()];
            }
        }

        throw new TimeoutException($"{deployment} never had {wanted} endpoints");
    }
}
