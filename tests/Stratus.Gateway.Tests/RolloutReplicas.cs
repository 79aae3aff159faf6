using System.Net;
using Stratus.Core.Routing;
using Stratus.Inference.Server;

namespace Stratus.Gateway.Tests;

/// <summary>
/// The replicas the rollout traffic tests share, started once (each takes about a second) and never stopped by a
/// test: the stable version 1 and three candidates for version 2 of the deployment "risk".
/// </summary>
public sealed class RolloutReplicas : IAsyncLifetime
{
    /// <summary>credit-risk.onnx as version 1.</summary>
    public ReplicaHost Stable { get; private set; } = null!;

    /// <summary>credit-risk-v2.onnx as version 2: the same signature, other weights.</summary>
    public ReplicaHost Retrained { get; private set; } = null!;

    /// <summary>credit-risk.onnx again, as version 2: answers exactly as the stable one.</summary>
    public ReplicaHost Identical { get; private set; } = null!;

    /// <summary>mlp-large.onnx as version 2: another signature, so every credit-risk request gets 400.</summary>
    public ReplicaHost Broken { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Stable = await TestReplicas.StartAsync();
        Retrained = await TestReplicas.StartAsync("credit-risk-v2.onnx", version: "2");
        Identical = await TestReplicas.StartAsync(version: "2");
        Broken = await TestReplicas.StartAsync("mlp-large.onnx", version: "2");
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in new[] { Stable, Retrained, Identical, Broken }.Where(r => r is not null))
        {
            await replica.DisposeAsync();
        }
    }

    /// <summary>The public deployment "risk", whose stable version is 1, served by the endpoints.</summary>
    internal static Route Risk(params RouteEndpoint[] endpoints) => new("risk", "credit-risk", 1, endpoints) { Public = true };

    /// <summary>A replica of a version in the route, in the cloud <c>cloud-{id}</c>.</summary>
    internal static RouteEndpoint Endpoint(string id, ReplicaHost replica, int version) => Endpoint(id, replica.Address, version);

    internal static RouteEndpoint Endpoint(string id, Uri address, int version) => new(id, $"cloud-{id}", address) { ModelVersion = version };

    /// <summary>A replica's own answer to a request, sent to it directly.</summary>
    internal static async Task<byte[]> DirectAnswerAsync(HttpClient client, ReplicaHost replica, string body)
    {
        using var response = await client.PostAsync(new Uri(replica.Address, "v2/models/risk/infer"), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>
    /// Sends requests of the credit-risk rows in turn through the gateway and checks that each was answered 200 with
    /// exactly the bytes the stable replica answers it with.
    /// </summary>
    internal async Task ExpectStableAnswersAsync(TestGateway gateway, int requests, bool binaryOutput = false)
    {
        var expected = new Dictionary<int, byte[]>();
        for (var i = 0; i < requests; i++)
        {
            var row = i % CreditRiskRequests.Count;
            var body = CreditRiskRequests.Row(row, binaryOutput);
            if (!expected.TryGetValue(row, out var answer))
            {
                expected[row] = answer = await DirectAnswerAsync(gateway.Client, Stable, body);
            }

            using var response = await gateway.InferAsync(body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(answer, await response.Content.ReadAsByteArrayAsync());
        }
    }
}

/// <summary>The tests of canary, shadow and sample traffic, which share <see cref="RolloutReplicas"/> and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class RolloutCollection : ICollectionFixture<RolloutReplicas>
{
    public const string Name = "rollout traffic";
}
