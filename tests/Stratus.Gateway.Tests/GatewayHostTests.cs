using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Stratus.Core.Routing;
using Stratus.Inference.Server;

namespace Stratus.Gateway.Tests;

/// <summary>The minimal gateway on real Kestrel in front of real replicas (ONNX Runtime sessions), following a route source.</summary>
public sealed class GatewayHostTests : IAsyncLifetime, IDisposable
{
    private const string Request = """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[21,12000,0.415,0.524,4,2,1,6750,60,1.7,0,1.7]}]}""";
    private readonly List<ReplicaHost> _replicas = [];
    private readonly ScriptedRoutes _routes = new();
    private GatewayHost _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 2; i++)
        {
            await AddReplicaAsync(TimeSpan.Zero);
        }

        _gateway = await GatewayHost.StartAsync(new GatewayOptions { Port = 0 }, _routes, logging => logging.SetMinimumLevel(LogLevel.Critical));
        _client = new HttpClient { BaseAddress = _gateway.Address };
    }

    public void Dispose() => _client?.Dispose();

    /// <summary>A real replica of the credit-risk model serving as "risk", optionally emulating a far-away cloud.</summary>
    private async Task<ReplicaHost> AddReplicaAsync(TimeSpan latency, string version = "1")
    {
        var replica = await TestReplicas.StartAsync(version: version, latency: latency);
        _replicas.Add(replica);
        return replica;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _gateway.DisposeAsync();
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
    }

    private Route Risk(params int[] replicas) =>
        new("risk", "credit-risk", 1, [.. replicas.Select(i => new RouteEndpoint($"risk-{i}", $"cloud-{i}", _replicas[i].Address))]) { Public = true };

    private async Task PublishAndWaitAsync(params Route[] routes)
    {
        var version = _routes.Publish(routes);
        await Stratus.Testing.Eventually.HoldsAsync(() => _gateway.Routes.Current.Version >= version, "the gateway took the new table");
    }

    private async Task<HttpResponseMessage> InferAsync(string deployment = "risk", string? key = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v2/models/{deployment}/infer") { Content = new StringContent(Request, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return await (client ?? _client).SendAsync(request);
    }

    [Fact]
    public async Task Infer_ThroughTheGateway_IsAnsweredByAReplicaAndSpreadOverAll()
    {
        await PublishAndWaitAsync(Risk(0, 1));

        for (var i = 0; i < 40; i++)
        {
            using var response = await InferAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("risk", body.GetProperty("model_name").GetString());
        }

        // Two random choices over idle replicas: each gets its share (fewer than 5 of 40 has odds below 1e-6).
        foreach (var replica in _replicas)
        {
            Assert.InRange(await ServedAsync(replica), 5, 35);
        }
    }

    private static Task<int> ServedAsync(ReplicaHost replica) => TestReplicas.ServedAsync(replica);

    [Fact]
    public async Task KilledReplica_UnderSteadyLoad_CostsNoFailedRequest()
    {
        await PublishAndWaitAsync(Risk(0, 1));
        var answered = 0;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var killed = new TaskCompletionSource();
        async Task Caller()
        {
            for (var i = 0; i < 150; i++)
            {
                using var response = await InferAsync();
                if (response.IsSuccessStatusCode)
                {
                    if (Interlocked.Increment(ref answered) == 60)
                    {
                        killed.TrySetResult();
                    }
                }
                else
                {
                    failures.Add($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
            }
        }

        var load = Task.WhenAll(Caller(), Caller());
        await killed.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // The replica goes away while still in the route table: refused connections are retried elsewhere.
        await _replicas[0].DisposeAsync();
        _replicas.RemoveAt(0);
        await load;

        Assert.Empty(failures);
        Assert.Equal(300, answered);
        var metrics = await _client.GetStringAsync("metrics");
        Assert.Matches(@"stratus_gateway_retries_total\{deployment=""risk""\} [1-9]", metrics);
        Assert.Contains("stratus_gateway_attempt_duration_seconds_count{deployment=\"risk\",version=\"1\",region=\"\",replica=\"risk-1\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Regions_TheMeasuredNearestIsPreferredAndTheFarOneTakesOverWhenItGoes()
    {
        var far = await AddReplicaAsync(TimeSpan.FromMilliseconds(150));
        await PublishAndWaitAsync(new Route("risk", "credit-risk", 1,
        [
            new RouteEndpoint("risk-near", "cloud-near", _replicas[0].Address) { Region = "near" },
            new RouteEndpoint("risk-far", "cloud-far", far.Address) { Region = "far" },
        ]) { Public = true });

        for (var i = 0; i < 40; i++)
        {
            using var response = await InferAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.True(_gateway.Latencies.Of("near") < _gateway.Latencies.Of("far"), $"near {_gateway.Latencies.Of("near")} ms, far {_gateway.Latencies.Of("far")} ms");
        // Most requests go to the near region; the far one gets the balancer's measurement requests (at least one, so
        // its latency is known), and on a busy machine a few more while the near one's first answers were slow.
        Assert.InRange(await ServedAsync(far), 1, 10);

        // The near region goes away: every request is answered by the far one.
        await _replicas[0].DisposeAsync();
        _replicas.RemoveAt(0);
        for (var i = 0; i < 10; i++)
        {
            using var response = await InferAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.True(await ServedAsync(far) >= 10);
    }

    [Fact]
    public async Task Metadata_IsForwardedToo()
    {
        await PublishAndWaitAsync(Risk(0));

        var metadata = await _client.GetFromJsonAsync<JsonElement>("v2/models/risk");

        Assert.Equal("features", metadata.GetProperty("inputs")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Infer_UnknownDeployment_Is404AndNoReplica_Is503WithTheReason()
    {
        await PublishAndWaitAsync(Risk());

        using var unknown = await InferAsync("fraud");
        using var empty = await InferAsync();

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no deployment named 'fraud'", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, empty.StatusCode);
        Assert.Contains("has no ready replica", await empty.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RouteSource_Failing_KeepsServingTheLastTable()
    {
        await PublishAndWaitAsync(Risk(0));

        _routes.Break();
        await Stratus.Testing.Eventually.HoldsAsync(() => _routes.Failures > 0, "the gateway met the failing source");

        using var response = await InferAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Ready_OnlyOnceATableArrived()
    {
        using var before = await _client.GetAsync("v2/health/ready");
        await PublishAndWaitAsync(Risk(0));
        using var after = await _client.GetAsync("v2/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Keys_PrivateDeploymentsNeedALiveKeyAndTheReplicaNeverSeesIt()
    {
        var (_, key) = InferenceKeys.New();
        var (_, other) = InferenceKeys.New();
        await PublishAndWaitAsync(Risk(0) with { Public = false, KeyHashes = [InferenceKeys.Hash(key)] });

        using var none = await InferAsync();
        using var wrong = await InferAsync(key: other);
        using var right = await InferAsync(key: key);
        await PublishAndWaitAsync(Risk(0) with { Public = false, KeyHashes = [] });
        using var revoked = await InferAsync(key: key);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains("is private", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.Equal(1, await ServedAsync(_replicas[0]));
    }

    [Fact]
    public async Task Limits_BodySizeRateAndTimeout_EachGiveAClearError()
    {
        var slow = await AddReplicaAsync(TimeSpan.FromMilliseconds(1500));
        var routes = new ScriptedRoutes();
        routes.Publish([Risk(0), new Route("slow", "credit-risk", 1, [new RouteEndpoint("slow-0", "cloud-0", slow.Address)]) { Public = true }]);
        await using var gateway = await GatewayHost.StartAsync(
            new GatewayOptions { Port = 0, MaxRequestBodyBytes = 1024, RateLimitPerSecond = 1, RateLimitBurst = 3, RequestTimeout = TimeSpan.FromMilliseconds(500) },
            routes,
            logging => logging.SetMinimumLevel(LogLevel.Critical));
        await Stratus.Testing.Eventually.HoldsAsync(() => gateway.Routes.HasTable, "the gateway took the table");
        using var client = new HttpClient { BaseAddress = gateway.Address };

        // Sent with 'Expect: 100-continue', as a client should send a large body: the 413 comes before any of it is sent,
        // so the answer is read whole rather than racing the connection close that follows an unread body.
        using var bigRequest = new HttpRequestMessage(HttpMethod.Post, "v2/models/risk/infer") { Content = new StringContent(new string(' ', 2048) + Request, Encoding.UTF8, "application/json") };
        bigRequest.Headers.ExpectContinue = true;
        using var big = await client.SendAsync(bigRequest);
        using var timedOut = await InferAsync("slow", client: client);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await InferAsync(client: client);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Contains("the limit is 1024", await big.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        Assert.Contains("did not answer within 0.5 s", await timedOut.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        Assert.Contains(HttpStatusCode.OK, statuses);
    }

    [Fact]
    public async Task TrafficSplit_FollowsTheWeightsAndAVersionedPathGoesToThatVersion()
    {
        var canary = await AddReplicaAsync(TimeSpan.Zero, version: "2");
        await PublishAndWaitAsync(new Route("risk", "credit-risk", 1,
        [
            new RouteEndpoint("risk-v1", "cloud-0", _replicas[0].Address) { ModelVersion = 1 },
            new RouteEndpoint("risk-v2", "cloud-0", canary.Address) { ModelVersion = 2 },
        ]) { Public = true, Weights = [new VersionWeight(1, 80), new VersionWeight(2, 20)] });

        const int Requests = 500;
        var byVersion = new Dictionary<string, int>();
        for (var i = 0; i < Requests; i++)
        {
            using var response = await InferAsync();
            var version = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString()!;
            byVersion[version] = byVersion.GetValueOrDefault(version) + 1;
        }

        // 20% of 500 is 100, with a standard deviation of about 9: five of them either side.
        Assert.InRange(byVersion.GetValueOrDefault("2"), 55, 145);
        Assert.Equal(Requests, byVersion.Values.Sum());
        for (var i = 0; i < 10; i++)
        {
            using var pinned = await _client.PostAsync("v2/models/risk/versions/2/infer", new StringContent(Request, Encoding.UTF8, "application/json"));
            Assert.Equal("2", (await pinned.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString());
        }

        using var missing = await _client.PostAsync("v2/models/risk/versions/7/infer", new StringContent(Request, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, missing.StatusCode);
    }
}
