using static Stratus.Gateway.Tests.RolloutReplicas;

namespace Stratus.Gateway.Tests;

[Collection(RolloutCollection.Name)]
public sealed class ZzDebugTests(RolloutReplicas replicas, Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Debug_Deadline()
    {
        await using var slow = await TestReplicas.StartAsync(version: "2", latency: TimeSpan.FromSeconds(3));
        for (var i = 0; i < 12; i++)
        {
            await using var gateway = await TestGateway.StartAsync(
                new GatewayOptions { RequestTimeout = TimeSpan.FromMilliseconds(300), CanaryAttemptTimeout = TimeSpan.FromSeconds(30), ProbeTimeout = TimeSpan.FromSeconds(30) },
                Risk(Endpoint("stable", replicas.Stable, 1), Endpoint("canary", slow, 2)) with { Weights = [new(1, 0), new(2, 100)] });
            var sw = System.Diagnostics.Stopwatch.StartNew();
            using var response = await gateway.InferAsync(CreditRiskRequests.Row(0));
            output.WriteLine($"{(int)response.StatusCode} {sw.ElapsedMilliseconds} ms {await response.Content.ReadAsStringAsync()}");
        }
    }
}
