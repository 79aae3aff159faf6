using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Stratus.Core.Routing;
using Stratus.Testing;
using static Stratus.Gateway.Tests.RolloutReplicas;

namespace Stratus.Gateway.Tests;

/// <summary>Sample recording through the gateway: a deployment that opted in hands its first few answered requests to the control plane.</summary>
[Collection(RolloutCollection.Name)]
public sealed class SampleRecordingTests(RolloutReplicas replicas)
{
    [Fact]
    public async Task Infer_RecordProbesTwo_HandsExactlyTwoAnsweredRequestsToTheSink()
    {
        var sink = new RecordingSampleSink();
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions { SampleSink = sink }, Recorded(2));

        await replicas.ExpectStableAnswersAsync(gateway, 5);
        await Eventually.HoldsAsync(() => sink.Samples.Count >= 2, "the sink got two samples");

        Assert.Equal(2, await gateway.MetricAsync("""stratus_gateway_recorded_samples_total{deployment="risk",version="1"}"""));
        Assert.Equal(2, sink.Samples.Count);
        Assert.All(sink.Samples, s => Assert.Equal(("risk", 1), (s.Deployment, s.Version)));

        // Byte for byte two of the bodies the callers sent (each of the five is another row).
        var sent = Enumerable.Range(0, 5).Select(i => Convert.ToHexString(Encoding.UTF8.GetBytes(CreditRiskRequests.Row(i)))).ToList();
        var recorded = sink.Samples.Select(s => Convert.ToHexString(s.Request)).ToList();
        Assert.All(recorded, r => Assert.Contains(r, sent));
        Assert.Equal(2, recorded.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Infer_RecordProbesZero_HandsNothingToTheSink()
    {
        var sink = new RecordingSampleSink();
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions { SampleSink = sink }, Recorded(0));
        await replicas.ExpectStableAnswersAsync(gateway, 5);

        // A sample recorded now, and awaited, comes after any of those; it is the only one, and the first one allowed.
        await gateway.PublishAsync(Recorded(1));
        var last = CreditRiskRequests.Row(7);
        using (var response = await gateway.InferAsync(last))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Eventually.HoldsAsync(() => sink.Samples.Count >= 1, "the sink got a sample");
        Assert.Equal(Encoding.UTF8.GetBytes(last), Assert.Single(sink.Samples).Request);
    }

    [Fact]
    public async Task Infer_AnsweredWithAnError_IsNotRecorded()
    {
        var sink = new RecordingSampleSink();
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions { SampleSink = sink }, Recorded(1));

        using (var refused = await gateway.InferAsync(CreditRiskRequests.Malformed))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // The one sample allowed goes to the answered request that followed, not to the refused one.
        var answered = CreditRiskRequests.Row(3);
        using (var response = await gateway.InferAsync(answered))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Eventually.HoldsAsync(() => sink.Samples.Count >= 1, "the sink got a sample");
        Assert.Equal(Encoding.UTF8.GetBytes(answered), Assert.Single(sink.Samples).Request);
    }

    private Route Recorded(int probes) => Risk(Endpoint("stable", replicas.Stable, 1)) with { RecordProbes = probes };

    /// <summary>The control plane's end of sample recording: keeps every request it is handed, with its tags.</summary>
    private sealed class RecordingSampleSink : IRequestSampleSink
    {
        private readonly ConcurrentQueue<(string Deployment, int Version, byte[] Request)> _samples = new();

        public IReadOnlyList<(string Deployment, int Version, byte[] Request)> Samples => [.. _samples];

        public ValueTask RecordAsync(string deployment, int version, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            _samples.Enqueue((deployment, version, request.ToArray()));
            return ValueTask.CompletedTask;
        }
    }
}
