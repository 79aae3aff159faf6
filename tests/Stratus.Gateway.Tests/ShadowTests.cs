using System.Text.Json;
using Stratus.Core.Rollouts;
using Stratus.Core.Routing;
using Stratus.Inference.Server;
using Stratus.Testing;
using static Stratus.Gateway.Tests.RolloutReplicas;

namespace Stratus.Gateway.Tests;

/// <summary>
/// Shadow traffic through the gateway: callers get the stable version's answers while copies of their requests go to
/// the shadow version afterwards, whose answers are compared with the stable ones and recorded.
/// </summary>
[Collection(RolloutCollection.Name)]
public sealed class ShadowTests(RolloutReplicas replicas)
{
    [Fact]
    public async Task Infer_ShadowOfARetrainedModel_CallersGetTheStableAnswersAndTheDifferencesAreRecorded()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Shadowed(replicas.Retrained));
        var shadowServed = await TestReplicas.ServedAsync(replicas.Retrained);

        const int Requests = 32;
        await replicas.ExpectStableAnswersAsync(gateway, Requests);
        var summary = await MirroredAsync(gateway, DateTimeOffset.MinValue, Requests);

        // What the comparison should find, from both models' own answers to the same rows.
        double largest = 0;
        var agreed = 0;
        for (var i = 0; i < Requests; i++)
        {
            var stable = Outputs(await DirectAnswerAsync(gateway.Client, replicas.Stable, CreditRiskRequests.Row(i)));
            var shadow = Outputs(await DirectAnswerAsync(gateway.Client, replicas.Retrained, CreditRiskRequests.Row(i)));
            largest = Math.Max(largest, stable["probabilities"].Zip(shadow["probabilities"], (a, b) => Math.Abs(a - b)).Max());
            agreed += stable["label"][0] == shadow["label"][0] ? 1 : 0;
        }

        Assert.Equal((Requests, 0L, 0L, 0L, 0L), (summary.Compared, summary.Skipped, summary.StableFailures, summary.ShadowFailures, summary.Mismatched));
        var probabilities = Assert.Single(summary.Outputs, o => o.Output == "probabilities");
        Assert.True(probabilities.MaxAbsolute > 1e-4, $"the retrained model differs: max abs {probabilities.MaxAbsolute}");
        Assert.True(probabilities.WorstToleranceRatio > 1);
        Assert.Equal(largest, probabilities.MaxAbsolute, 1e-9);
        Assert.Equal((Requests, agreed), (probabilities.ArgmaxRows, probabilities.ArgmaxAgreed));
        Assert.Equal(Requests, await TestReplicas.ServedAsync(replicas.Retrained) - shadowServed - Requests);
        var diverged = await gateway.MetricAsync(ShadowSeries("diverged"));
        Assert.True(diverged > 0);
        Assert.Equal(Requests, diverged + await gateway.MetricAsync(ShadowSeries("matched")));
    }

    [Fact]
    public async Task Infer_ShadowOfTheSameModel_EveryOutputMatchesExactly()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Shadowed(replicas.Identical));

        await replicas.ExpectStableAnswersAsync(gateway, CreditRiskRequests.Count);
        var summary = await MirroredAsync(gateway, DateTimeOffset.MinValue, CreditRiskRequests.Count);

        ExpectIdentical(summary, CreditRiskRequests.Count);
        Assert.Equal(CreditRiskRequests.Count, await gateway.MetricAsync(ShadowSeries("matched")));
    }

    [Fact]
    public async Task Infer_ShadowFails_CallersStillGetTheStableAnswersAndTheFailuresAreRecorded()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Shadowed(replicas.Broken));

        await replicas.ExpectStableAnswersAsync(gateway, CreditRiskRequests.Count);
        var summary = await MirroredAsync(gateway, DateTimeOffset.MinValue, CreditRiskRequests.Count);

        Assert.Equal((CreditRiskRequests.Count, 0L, 0L), ((int)summary.ShadowFailures, summary.StableFailures, summary.Compared));
        Assert.Equal(CreditRiskRequests.Count, await gateway.MetricAsync(ShadowSeries("shadow_failed")));
    }

    [Fact]
    public async Task Infer_ShadowYetToAnswer_CallersAreAllAnsweredMeanwhile()
    {
        await using var held = await HeldReplica.StartAsync(replicas.Identical);
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Shadowed(held.Address));

        // The shadow answers nothing until released. Bounded only so that a shadow that holds callers up (the next
        // request on a kept-alive connection waits for the last one to end) fails the test rather than hanging it.
        const int Requests = 20;
        await replicas.ExpectStableAnswersAsync(gateway, Requests).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, (await gateway.ReportedAsync()).ShadowSince("risk", 2, DateTimeOffset.MinValue).Mirrored);
        await Eventually.HoldsAsync(() => held.Held == Requests, "every copy reached the shadow");

        held.Release();
        ExpectIdentical(await MirroredAsync(gateway, DateTimeOffset.MinValue, Requests), Requests);
    }

    [Fact]
    public async Task Infer_ShadowAtZeroPercentOrNone_SendsNoCopies()
    {
        var shadowServed = await TestReplicas.ServedAsync(replicas.Identical);
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Shadowed(replicas.Identical, percent: 0));
        await replicas.ExpectStableAnswersAsync(gateway, 10);
        await gateway.PublishAsync(Shadowed(replicas.Identical) with { Shadow = null });
        await replicas.ExpectStableAnswersAsync(gateway, 10);

        // Copies would have been sent right after those answers: one copy sent now, and awaited, comes after them.
        await gateway.PublishAsync(Shadowed(replicas.Identical));
        await replicas.ExpectStableAnswersAsync(gateway, 1);
        var summary = await MirroredAsync(gateway, DateTimeOffset.MinValue, 1);

        Assert.Equal((1L, 0L), (summary.Mirrored, summary.Skipped));
        Assert.Equal(1, await TestReplicas.ServedAsync(replicas.Identical) - shadowServed);
    }

    [Fact]
    public async Task Infer_BinaryOutputs_AreDecodedAndComparedAsTheJsonOnes()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions(), Shadowed(replicas.Retrained));
        var count = CreditRiskRequests.Count;
        await replicas.ExpectStableAnswersAsync(gateway, count);
        var json = await MirroredAsync(gateway, DateTimeOffset.MinValue, count);
        var headerSince = DateTimeOffset.UtcNow;
        using (var response = await gateway.InferAsync(CreditRiskRequests.Row(0, binaryOutput: true)))
        {
            Assert.True(response.Headers.Contains(BufferedRequest.HeaderLengthName), "the caller got binary tensor data");
        }

        await MirroredAsync(gateway, headerSince, 1);
        var binarySince = DateTimeOffset.UtcNow;
        await replicas.ExpectStableAnswersAsync(gateway, count, binaryOutput: true);

        // The same rows, the same differences: the binary answers were decoded value by value.
        var binary = await MirroredAsync(gateway, binarySince, count);
        Assert.Equal((count, 0L, 0L), (binary.Compared, binary.ShadowFailures, binary.Mismatched));
        var fromJson = Assert.Single(json.Outputs, o => o.Output == "probabilities");
        var fromBinary = Assert.Single(binary.Outputs, o => o.Output == "probabilities");
        Assert.True(fromBinary.MaxAbsolute > 1e-4);
        Assert.Equal(fromJson.MaxAbsolute, fromBinary.MaxAbsolute, 1e-6);
        Assert.Equal((fromJson.ArgmaxRows, fromJson.ArgmaxAgreed), (fromBinary.ArgmaxRows, fromBinary.ArgmaxAgreed));

        // And an identical model matches exactly in binary too.
        await gateway.PublishAsync(Shadowed(replicas.Identical));
        var identicalSince = DateTimeOffset.UtcNow;
        await replicas.ExpectStableAnswersAsync(gateway, count, binaryOutput: true);
        ExpectIdentical(await MirroredAsync(gateway, identicalSince, count), count);
    }

    /// <summary>"risk" with callers all on version 1 and a shadow version 2 served by <paramref name="shadow"/>.</summary>
    private Route Shadowed(ReplicaHost shadow, int percent = 100) => Shadowed(shadow.Address, percent);

    private Route Shadowed(Uri shadow, int percent = 100) =>
        Risk(Endpoint("stable", replicas.Stable, 1), Endpoint("shadow", shadow, 2)) with
        {
            Weights = [new VersionWeight(1, 100), new VersionWeight(2, 0)],
            Shadow = new ShadowRoute(2, percent, 1e-4, 1e-4),
        };

    /// <summary>Waits until the shadow's answers to <paramref name="count"/> copies sent since a moment are in, and checks that no more are.</summary>
    private static async Task<ShadowSummary> MirroredAsync(TestGateway gateway, DateTimeOffset since, int count)
    {
        await Eventually.HoldsAsync(async () => (await gateway.ReportedAsync()).ShadowSince("risk", 2, since).Mirrored >= count, $"the shadow answered {count} copies");
        var summary = (await gateway.ReportedAsync()).ShadowSince("risk", 2, since);
        Assert.Equal(count, summary.Mirrored);
        return summary;
    }

    private static void ExpectIdentical(ShadowSummary summary, int requests)
    {
        Assert.Equal((requests, 0L, 0L, 0L), (summary.Compared, summary.Skipped, summary.ShadowFailures, summary.Mismatched));
        Assert.Equal(new[] { "label", "probabilities" }, summary.Outputs.Select(o => o.Output).Order(StringComparer.Ordinal));
        Assert.All(summary.Outputs, o => Assert.Equal((0d, 0d), (o.MaxAbsolute, o.MaxRelative)));
        Assert.Equal(1d, Assert.Single(summary.Outputs, o => o.Output == "probabilities").ArgmaxAgreement);
    }

    private static string ShadowSeries(string outcome) => $$"""stratus_gateway_shadow_requests_total{deployment="risk",version="2",outcome="{{outcome}}"}""";

    /// <summary>A v2 JSON answer's outputs by name.</summary>
    private static Dictionary<string, double[]> Outputs(byte[] answer) =>
        JsonDocument.Parse(answer).RootElement.GetProperty("outputs").EnumerateArray().ToDictionary(
            o => o.GetProperty("name").GetString()!,
            o => o.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray(),
            StringComparer.Ordinal);
}
