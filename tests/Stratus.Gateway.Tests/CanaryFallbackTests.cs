using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Stratus.Core.Routing;
using static Stratus.Gateway.Tests.RolloutReplicas;

namespace Stratus.Gateway.Tests;

/// <summary>
/// Canary fallback through the gateway: a request whose canary attempt fails (an error answer, no answer in time, a
/// replica gone) is answered by the stable version, and the failure still counts against the canary.
/// </summary>
[Collection(RolloutCollection.Name)]
public sealed class CanaryFallbackTests(RolloutReplicas replicas)
{
    private static readonly VersionWeight[] HalfAndHalf = [new(1, 50), new(2, 50)];

    [Fact]
    public async Task Infer_CanaryAnswersWithErrors_EveryCallerGetsTheStableAnswerAndTheFailuresCountAgainstTheCanary()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Risk(Endpoint("stable", replicas.Stable, 1), Endpoint("canary", replicas.Broken, 2)) with { Weights = HalfAndHalf });
        var stableServed = await TestReplicas.ServedAsync(replicas.Stable);
        var canaryRefused = await TestReplicas.ServedAsync(replicas.Broken, "failure");

        const int Requests = 200;
        await replicas.ExpectStableAnswersAsync(gateway, Requests);

        var canary = (await gateway.ReportedAsync()).ResultsSince("risk", 2, DateTimeOffset.MinValue);
        var stable = (await gateway.ReportedAsync()).ResultsSince("risk", 1, DateTimeOffset.MinValue);
        Assert.True(canary.Failures > 0, "the canary was drawn and failed");
        Assert.Equal(canary.Requests, canary.Failures);
        Assert.Equal(canary.Failures, (await gateway.ReportedAsync()).ResultsByCloudSince("risk", 2, DateTimeOffset.MinValue)["cloud-canary"].Failures);
        Assert.Equal(canary.Failures, await TestReplicas.ServedAsync(replicas.Broken, "failure") - canaryRefused);
        Assert.Equal(canary.Failures, await gateway.MetricAsync("""stratus_gateway_canary_fallbacks_total{deployment="risk",version="2"}"""));
        Assert.Equal((Requests, 0), (stable.Requests, stable.Failures));

        // Besides the requests, the stable replica answered one direct request per row, for the expected answers.
        Assert.Equal(Requests, await TestReplicas.ServedAsync(replicas.Stable) - stableServed - CreditRiskRequests.Count);
    }

    [Fact]
    public async Task Infer_CanaryAnswersTooLate_EveryCallerGetsTheStableAnswerAndTheTimeoutsCountAgainstTheCanary()
    {
        await using var slow = await TestReplicas.StartAsync(version: "2", latency: TimeSpan.FromSeconds(3));

        // Probes wait out the emulated latency too: a long probe timeout keeps the slow canary in traffic.
        await using var gateway = await TestGateway.StartAsync(
            new GatewayOptions { CanaryAttemptTimeout = TimeSpan.FromMilliseconds(200), ProbeTimeout = TimeSpan.FromSeconds(30) },
            Risk(Endpoint("stable", replicas.Stable, 1), Endpoint("canary", slow, 2)) with { Weights = HalfAndHalf });

        const int Requests = 20;
        await replicas.ExpectStableAnswersAsync(gateway, Requests);

        var canary = (await gateway.ReportedAsync()).ResultsSince("risk", 2, DateTimeOffset.MinValue);
        var stable = (await gateway.ReportedAsync()).ResultsSince("risk", 1, DateTimeOffset.MinValue);
        Assert.True(canary.Failures > 0, "the canary was drawn and timed out");
        Assert.Equal(canary.Requests, canary.Failures);
        Assert.Equal(canary.Failures, (await gateway.ReportedAsync()).ResultsByCloudSince("risk", 2, DateTimeOffset.MinValue)["cloud-canary"].Failures);
        Assert.Equal(canary.Failures, await gateway.MetricAsync("""stratus_gateway_attempts_total{deployment="risk",version="2",region="",replica="canary",outcome="timeout"}"""));
        Assert.Equal(canary.Failures, await gateway.MetricAsync("""stratus_gateway_canary_fallbacks_total{deployment="risk",version="2"}"""));
        Assert.Equal((Requests, 0), (stable.Requests, stable.Failures));
    }

    [Fact]
    public async Task Infer_CanaryStoppedWhileInTheRoute_EveryCallerGetsTheStableAnswer()
    {
        var canary = await TestReplicas.StartAsync(version: "2");
        var running = true;
        try
        {
            // Passive health takes the stopped canary out at its first failure; active probes are kept from doing so first.
            await using var gateway = await TestGateway.StartAsync(
                new GatewayOptions { ProbeInterval = TimeSpan.FromMinutes(10) },
                Risk(Endpoint("stable", replicas.Stable, 1), Endpoint("canary", canary, 2)) with { Weights = HalfAndHalf });
            var byVersion = new Dictionary<string, int>();
            for (var i = 0; i < 30; i++)
            {
                using var response = await gateway.InferAsync(CreditRiskRequests.Row(i));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var version = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString()!;
                byVersion[version] = byVersion.GetValueOrDefault(version) + 1;
            }

            Assert.True(byVersion.GetValueOrDefault("2") > 0, "the canary answered while it ran");
            await canary.DisposeAsync();
            running = false;
            await gateway.ReportedAsync();
            var stopped = DateTimeOffset.UtcNow;

            await replicas.ExpectStableAnswersAsync(gateway, 30);

            var results = (await gateway.ReportedAsync()).ResultsSince("risk", 2, stopped);
            Assert.True(results.Failures > 0, "the stopped canary was drawn and failed");
            Assert.Equal(results.Requests, results.Failures);
            Assert.Equal(30, (await gateway.ReportedAsync()).ResultsSince("risk", 1, stopped).Requests);
        }
        finally
        {
            if (running)
            {
                await canary.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Infer_CanaryFailsAndTheStableVersionHasNoReplica_TheCallerGetsTheCanaryError()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Risk(Endpoint("canary", replicas.Broken, 2)) with { Weights = HalfAndHalf });

        for (var i = 0; i < 5; i++)
        {
            using var response = await gateway.InferAsync(CreditRiskRequests.Row(i));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            await ExpectErrorAsync(response);
        }

        Assert.Equal(5, (await gateway.ReportedAsync()).ResultsSince("risk", 2, DateTimeOffset.MinValue).Failures);
    }

    [Fact]
    public async Task Infer_CanaryFailsAndTheStableReplicaIsGone_TheCallerGetsAnErrorWithTheReason()
    {
        // An address nothing listens on: the stable replica went away and the table does not know yet.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var gone = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        listener.Stop();
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Risk(Endpoint("stable", gone, 1), Endpoint("canary", replicas.Broken, 2)) with { Weights = HalfAndHalf });

        // The first request meets the stable replica either way (drawn, or after the canary's 400), which ejects it;
        // later ones go to the canary alone and get its answer.
        using var first = await gateway.InferAsync(CreditRiskRequests.Row(0));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        Assert.Contains("no replica of 'risk' could take the request", await ExpectErrorAsync(first), StringComparison.Ordinal);
        for (var i = 1; i < 10; i++)
        {
            using var response = await gateway.InferAsync(CreditRiskRequests.Row(i));
            Assert.True((int)response.StatusCode >= 400, $"answered {(int)response.StatusCode}");
            await ExpectErrorAsync(response);
        }
    }

    [Fact]
    public async Task Infer_CanaryUsesUpTheDeadline_TheCallerGetsTheStableAnswerOrAnErrorWithTheReason()
    {
        await using var slow = await TestReplicas.StartAsync(version: "2", latency: TimeSpan.FromSeconds(3));

        // Every request is drawn for the canary, whose attempt may take the whole deadline (the attempt's activity
        // timeout is the deadline too): it ends as the deadline passes, and the timers decide which is first.
        await using var gateway = await TestGateway.StartAsync(
            new GatewayOptions { RequestTimeout = TimeSpan.FromMilliseconds(300), CanaryAttemptTimeout = TimeSpan.FromSeconds(30), ProbeTimeout = TimeSpan.FromSeconds(30) },
            Risk(Endpoint("stable", replicas.Stable, 1), Endpoint("canary", slow, 2)) with { Weights = [new VersionWeight(1, 0), new VersionWeight(2, 100)] });
        var expected = await DirectAnswerAsync(gateway.Client, replicas.Stable, CreditRiskRequests.Row(0));

        using var response = await gateway.InferAsync(CreditRiskRequests.Row(0));

        // Either way an answer, never the canary's held-back body: the stable version's, or the reason there was none.
        if (response.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
        }
        else
        {
            Assert.True((int)response.StatusCode >= 500, $"answered {(int)response.StatusCode}");
            Assert.Contains("no replica of the stable version could take it in time", await ExpectErrorAsync(response), StringComparison.Ordinal);
        }

        var canary = (await gateway.ReportedAsync()).ResultsSince("risk", 2, DateTimeOffset.MinValue);
        Assert.Equal((1L, 1L), (canary.Requests, canary.Failures));
    }

    [Fact]
    public async Task Infer_PathNamesTheCanaryVersion_GoesToThatVersionOnlyAndIsNotSentToTheStableVersion()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Risk(Endpoint("stable", replicas.Stable, 1), Endpoint("canary", replicas.Broken, 2)) with { Weights = HalfAndHalf });
        var stableServed = await TestReplicas.ServedAsync(replicas.Stable);
        var canaryRefused = await TestReplicas.ServedAsync(replicas.Broken, "failure");

        for (var i = 0; i < 10; i++)
        {
            using var response = await gateway.InferAsync(CreditRiskRequests.Row(i), "v2/models/risk/versions/2/infer");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            await ExpectErrorAsync(response);
        }

        Assert.Equal(10, await TestReplicas.ServedAsync(replicas.Broken, "failure") - canaryRefused);
        Assert.Equal(0, await TestReplicas.ServedAsync(replicas.Stable) - stableServed);
        Assert.Equal(0, await gateway.MetricAsync("""stratus_gateway_canary_fallbacks_total{deployment="risk",version="2"}"""));
        Assert.Equal(0, (await gateway.ReportedAsync()).ResultsSince("risk", 1, DateTimeOffset.MinValue).Requests);
        Assert.Equal(10, (await gateway.ReportedAsync()).ResultsSince("risk", 2, DateTimeOffset.MinValue).Failures);
    }

    /// <summary>Checks that an answer is a v2 error, <c>{"error": "..."}</c> with some text, and returns the text.</summary>
    private static async Task<string> ExpectErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var error = body.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(error));
        return error!;
    }
}
