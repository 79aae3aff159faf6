using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stratus.Core.Api;
using Stratus.Core.Audit;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Models;
using Stratus.Core.Placement;
using Stratus.Core.Routing;
using Stratus.Core.Scaling;

namespace Stratus.Client;

/// <summary>
/// A typed client of the control plane's REST API (<c>/api/v1</c>), as the <c>stratus</c> CLI uses it. Every call
/// sends the bearer token; an error answer becomes a <see cref="StratusApiException"/> carrying the problem's title
/// and detail. It is also an <see cref="IRouteSource"/>, an <see cref="ILoadReportSink"/> and an <see cref="IRequestSampleSink"/>, so a gateway in
/// another process follows the route table, reports its load and hands over the requests it records through it.
/// </summary>
public sealed class StratusClient : IRouteSource, ILoadReportSink, IRequestSampleSink, IDisposable
{
    private readonly HttpClient _http;

    /// <summary>The JSON the API speaks (<see cref="ApiJson.Options"/>): camelCase, enums as camelCase strings, v2 datatype names.</summary>
    public static JsonSerializerOptions Json => ApiJson.Options;

    public StratusClient(Uri server, string? token, HttpMessageHandler? handler = null)
    {
        _http = new HttpClient(handler ?? new SocketsHttpHandler { UseProxy = false }, disposeHandler: true)
        {
            BaseAddress = new Uri(server, "api/v1/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };
        if (!string.IsNullOrEmpty(token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    /// <summary>The server's address, as given (the API is <c>api/v1/</c> under it).</summary>
    public Uri Server => new(_http.BaseAddress!, "../../");

    public Task<ModelVersion> PushModelAsync(string name, Stream model, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        PushModelAsync(name, model, [], progress, cancellationToken);

    /// <summary>
    /// Pushes a model with sample requests (v2 JSON bodies) that become the version's probe set: a multipart body
    /// with the samples first, the file streamed last. Nothing is stored unless every sample fits the model.
    /// </summary>
    public async Task<ModelVersion> PushModelAsync(string name, Stream model, IReadOnlyList<string> samples, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var file = new ProgressStreamContent(model, progress);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (samples.Count == 0)
        {
            using (file)
            {
                return await SendAsync<ModelVersion>(HttpMethod.Post, $"models/{Escape(name)}", file, cancellationToken);
            }
        }

        using var content = new MultipartFormDataContent();
        for (var i = 0; i < samples.Count; i++)
        {
            content.Add(new StringContent(samples[i], Encoding.UTF8, "application/json"), "sample", $"sample-{i + 1}.json");
        }

        content.Add(file, "model", $"{name}.onnx");
        return await SendAsync<ModelVersion>(HttpMethod.Post, $"models/{Escape(name)}", content, cancellationToken);
    }

    /// <summary>Adds sample requests (each a v2 JSON body) to a model version; the answer is the version with its sample count.</summary>
    public Task<ModelVersion> AddSamplesAsync(string name, int version, IReadOnlyList<string> samples, CancellationToken cancellationToken = default) =>
        SendAsync<ModelVersion>(HttpMethod.Post, $"models/{Escape(name)}/versions/{version.ToString(CultureInfo.InvariantCulture)}/samples", new StringContent("[" + string.Join(",", samples) + "]", Encoding.UTF8, "application/json"), cancellationToken);

    public Task<IReadOnlyList<SampleView>> ListSamplesAsync(string name, int version, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<SampleView>>(HttpMethod.Get, $"models/{Escape(name)}/versions/{version.ToString(CultureInfo.InvariantCulture)}/samples", null, cancellationToken);

    public Task<IReadOnlyList<ModelVersion>> ListModelsAsync(CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<ModelVersion>>(HttpMethod.Get, "models", null, cancellationToken);

    /// <summary>Every version of one model, oldest first.</summary>
    public Task<IReadOnlyList<ModelVersion>> GetModelAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<ModelVersion>>(HttpMethod.Get, $"models/{Escape(name)}", null, cancellationToken);

    public Task<ModelVersion> GetModelVersionAsync(string name, int version, CancellationToken cancellationToken = default) =>
        SendAsync<ModelVersion>(HttpMethod.Get, $"models/{Escape(name)}/versions/{version.ToString(CultureInfo.InvariantCulture)}", null, cancellationToken);

    /// <summary>
    /// Downloads a model version's file to <paramref name="path"/>, hashing it as it streams, and keeps it only when its
    /// SHA-256 is the one the registry sent with it and, where given, <paramref name="expectedSha256"/>: the bytes go to
    /// a temporary file beside the target, renamed over it once checked, so a failed or damaged download leaves no file
    /// (an <see cref="InvalidDataException"/> saying both digests). Returns the SHA-256.
    /// </summary>
    public async Task<string> PullModelAsync(string name, int version, string path, string? expectedSha256 = null, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync($"models/{Escape(name)}/versions/{version.ToString(CultureInfo.InvariantCulture)}/artifact", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, cancellationToken);
        }

        var announced = response.Headers.TryGetValues(ArtifactHeaders.Sha256, out var values) ? values.FirstOrDefault() : null;
        var temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
        try
        {
            string actual;
            await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            using (var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            if (announced is null)
            {
                throw new InvalidDataException($"model {name} version {version}: the server sent no {ArtifactHeaders.Sha256} header, so the download cannot be verified");
            }

            foreach (var (expected, whose) in new[] { (announced, "the registry's"), (expectedSha256, "the expected") })
            {
                if (expected is not null && !string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException($"model {name} version {version}: downloaded SHA-256 {actual} differs from {whose} {expected.ToLowerInvariant()}; nothing was written");
                }
            }

            File.Move(temporary, path, overwrite: true);
            return actual;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Creates or updates a deployment; a null version means the model's latest.</summary>
    public Task<Deployment> DeployAsync(string name, string model, int? version, int replicas, string? shape = null, PlacementConstraints? placement = null, bool isPublic = false, CancellationToken cancellationToken = default) =>
        ApplyAsync(name, SpecJson(model, version, replicas, shape, placement, isPublic), cancellationToken);

    /// <summary>A deployment spec as the API takes it.</summary>
    public static string SpecJson(string model, int? version, int replicas, string? shape, PlacementConstraints? placement, bool isPublic = false, Stratus.Core.Scaling.AutoscalingSpec? autoscaling = null) =>
        JsonSerializer.Serialize(new DeploymentSpec(null, model, version, replicas, shape) { Placement = placement, Public = isPublic, Autoscaling = autoscaling }, Json);

    /// <summary>Creates an inference key for a deployment; the answer holds the key, shown this once.</summary>
    public Task<NewKey> CreateKeyAsync(string deployment, string? description = null, CancellationToken cancellationToken = default) =>
        SendAsync<NewKey>(HttpMethod.Post, $"deployments/{Escape(deployment)}/keys", JsonContent.Create(new KeyRequest(description), options: Json), cancellationToken);

    public Task<IReadOnlyList<KeyView>> ListKeysAsync(string deployment, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<KeyView>>(HttpMethod.Get, $"deployments/{Escape(deployment)}/keys", null, cancellationToken);

    public Task RevokeKeyAsync(string deployment, string id, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, $"deployments/{Escape(deployment)}/keys/{Escape(id)}", null, cancellationToken);

    /// <summary>Sends a deployment spec as it is (JSON of the API's schema), so the control plane judges every field.</summary>
    public Task<Deployment> ApplyAsync(string name, string specJson, CancellationToken cancellationToken = default) =>
        SendAsync<Deployment>(HttpMethod.Put, $"deployments/{Escape(name)}", new StringContent(specJson, Encoding.UTF8, "application/json"), cancellationToken);

    /// <summary>A dry run: the placement the planner would choose now for this spec, and every rejected candidate.</summary>
    public Task<PlacementPlan> PlanAsync(string name, string specJson, CancellationToken cancellationToken = default) =>
        SendAsync<PlacementPlan>(HttpMethod.Post, $"deployments/{Escape(name)}/plan", new StringContent(specJson, Encoding.UTF8, "application/json"), cancellationToken);

    public Task<IReadOnlyList<DeploymentStatus>> ListDeploymentsAsync(CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<DeploymentStatus>>(HttpMethod.Get, "deployments", null, cancellationToken);

    public Task<DeploymentStatus> GetDeploymentAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync<DeploymentStatus>(HttpMethod.Get, $"deployments/{Escape(name)}", null, cancellationToken);

    public Task<Deployment> ScaleAsync(string name, int replicas, CancellationToken cancellationToken = default) =>
        SendAsync<Deployment>(HttpMethod.Post, $"deployments/{Escape(name)}/scale", JsonContent.Create(new ScaleRequest(replicas), options: Json), cancellationToken);

    /// <summary>Splits traffic between model versions: (version, weight in percent, optional replicas); empty for none.</summary>
    public Task<Deployment> SetTrafficAsync(string name, IReadOnlyList<(int Version, int Weight, int? Replicas)> splits, CancellationToken cancellationToken = default) =>
        SendAsync<Deployment>(HttpMethod.Post, $"deployments/{Escape(name)}/traffic", JsonContent.Create(splits.Select(s => new TrafficSplit(s.Version, s.Weight, s.Replicas)), options: Json), cancellationToken);

    /// <summary>Starts a rollout to a model version: rolling, canary, blue-green or shadow, with the settings that are not null.</summary>
    public Task<Rollout> StartRolloutAsync(string name, int version, string strategy, RolloutRequest? settings = null, CancellationToken cancellationToken = default) =>
        SendAsync<Rollout>(HttpMethod.Post, $"deployments/{Escape(name)}/rollout", JsonContent.Create((settings ?? new RolloutRequest(null, null)) with { Version = version, Strategy = strategy }, options: Json), cancellationToken);

    public Task<Rollout> GetRolloutAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync<Rollout>(HttpMethod.Get, $"deployments/{Escape(name)}/rollout", null, cancellationToken);

    /// <summary>promote, pause, resume or rollback.</summary>
    public Task<Rollout> RolloutActionAsync(string name, string action, CancellationToken cancellationToken = default) =>
        SendAsync<Rollout>(HttpMethod.Post, $"deployments/{Escape(name)}/rollout/{Escape(action)}", null, cancellationToken);

    public Task DeleteDeploymentAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, $"deployments/{Escape(name)}", null, cancellationToken);

    public Task<IReadOnlyList<ReplicaRecord>> ListReplicasAsync(CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<ReplicaRecord>>(HttpMethod.Get, "replicas", null, cancellationToken);

    /// <summary>The last <paramref name="lines"/> lines a replica wrote, from its cloud (1 to 10000).</summary>
    public Task<ReplicaLogs> GetReplicaLogsAsync(string id, int lines = 100, CancellationToken cancellationToken = default) =>
        SendAsync<ReplicaLogs>(HttpMethod.Get, $"replicas/{Escape(id)}/logs?lines={lines.ToString(CultureInfo.InvariantCulture)}", null, cancellationToken);

    public Task<IReadOnlyList<CloudStatus>> ListCloudsAsync(CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<CloudStatus>>(HttpMethod.Get, "clouds", null, cancellationToken);

    /// <summary>Emulates a fault of a local cloud: one deployment's version fails this share of requests there (0 ends it).</summary>
    public Task<CloudStatus> FaultAsync(string cloud, string deployment, int version, double errorRate, CancellationToken cancellationToken = default) =>
        SendAsync<CloudStatus>(HttpMethod.Post, $"clouds/{Escape(cloud)}/faults", JsonContent.Create(new FaultRequest(deployment, version, errorRate), options: Json), cancellationToken);

    public Task<CloudStatus> ClearFaultsAsync(string cloud, CancellationToken cancellationToken = default) =>
        SendAsync<CloudStatus>(HttpMethod.Delete, $"clouds/{Escape(cloud)}/faults", null, cancellationToken);

    public Task<CloudStatus> OutageAsync(string cloud, CancellationToken cancellationToken = default) =>
        SendAsync<CloudStatus>(HttpMethod.Post, $"clouds/{Escape(cloud)}/outage", null, cancellationToken);

    public Task<CloudStatus> RestoreAsync(string cloud, CancellationToken cancellationToken = default) =>
        SendAsync<CloudStatus>(HttpMethod.Post, $"clouds/{Escape(cloud)}/restore", null, cancellationToken);

    /// <summary>Makes a local cloud refuse launches (of one shape, or all) with a refusal of the given scope.</summary>
    public Task<CloudStatus> RefuseAsync(string cloud, string? shape, string scope = "shape", CancellationToken cancellationToken = default) =>
        SendAsync<CloudStatus>(HttpMethod.Post, $"clouds/{Escape(cloud)}/refuse", JsonContent.Create(new RefuseRequest(shape, scope), options: Json), cancellationToken);

    public Task<CloudStatus> AcceptAsync(string cloud, CancellationToken cancellationToken = default) =>
        SendAsync<CloudStatus>(HttpMethod.Post, $"clouds/{Escape(cloud)}/accept", null, cancellationToken);

    public Task<NewToken> CreateTokenAsync(string role, string? description = null, CancellationToken cancellationToken = default) =>
        SendAsync<NewToken>(HttpMethod.Post, "tokens", JsonContent.Create(new TokenRequest(role, description), options: Json), cancellationToken);

    public Task<IReadOnlyList<TokenView>> ListTokensAsync(CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<TokenView>>(HttpMethod.Get, "tokens", null, cancellationToken);

    public Task RevokeTokenAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, $"tokens/{Escape(id)}", null, cancellationToken);

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long afterSequence = 0, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<AuditEntry>>(HttpMethod.Get, $"audit?after={afterSequence.ToString(CultureInfo.InvariantCulture)}", null, cancellationToken);

    public Task<AuditVerification> VerifyAuditAsync(CancellationToken cancellationToken = default) =>
        SendAsync<AuditVerification>(HttpMethod.Get, "audit/verify", null, cancellationToken);

    public Task<RouteTable> GetRoutesAsync(CancellationToken cancellationToken = default) =>
        SendAsync<RouteTable>(HttpMethod.Get, "routes", null, cancellationToken);

    /// <inheritdoc/>
    public Task<RouteTable> WaitForNewerAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync<RouteTable>(
            HttpMethod.Get,
            $"routes?after={afterVersion.ToString(CultureInfo.InvariantCulture)}&timeoutSeconds={((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture)}",
            null,
            cancellationToken);

    /// <inheritdoc/>
    public Task ReportLoadAsync(GatewayLoadReport report, CancellationToken cancellationToken) =>
        SendAsync<LoadReportReceipt>(HttpMethod.Post, $"gateways/{Escape(report.Gateway)}/load", JsonContent.Create(report, options: Json), cancellationToken);

    /// <summary>Whether this server leads, and the lease as stored.</summary>
    public Task<LeaderStatus> GetLeaderAsync(CancellationToken cancellationToken = default) =>
        SendAsync<LeaderStatus>(HttpMethod.Get, "leader", null, cancellationToken);

    /// <summary>The gateways that report their load to this server.</summary>
    public Task<IReadOnlyList<GatewayStatus>> ListGatewaysAsync(CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<GatewayStatus>>(HttpMethod.Get, "gateways", null, cancellationToken);

    /// <summary>Follows the route table until the deployment has exactly <paramref name="replicas"/> ready endpoints (none extra, none draining), or the deadline.</summary>
    public async Task<Route> WaitForReadyAsync(string deployment, int replicas, TimeSpan deadline, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        long version = 0;
        try
        {
            while (true)
            {
                var table = await WaitForNewerAsync(version, TimeSpan.FromSeconds(10), timeout.Token);
                version = table.Version;
                if (table.Routes.FirstOrDefault(r => r.Deployment == deployment) is { } route && route.Endpoints.Count == replicas)
                {
                    return route;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var status = await GetDeploymentAsync(deployment, cancellationToken);
            var failed = status.Replicas.Where(r => r.State == ReplicaState.Failed).Select(r => $"{r.Cloud}: {r.Reason}").Distinct().ToList();
            throw new TimeoutException(
                $"deployment {deployment} has {status.ReadyReplicas} of {replicas} replicas ready after {deadline.TotalSeconds:0} s" +
                (failed.Count > 0 ? $"; failures: {string.Join("; ", failed)}" : string.Empty));
        }
    }

    /// <summary>Hands a live request a gateway recorded (answered 2xx by <paramref name="version"/>) to the control plane, which keeps it as a sample if the deployment asks for recorded probes.</summary>
    public async ValueTask RecordAsync(string deployment, int version, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(request);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync($"deployments/{Escape(deployment)}/versions/{version.ToString(CultureInfo.InvariantCulture)}/recorded", content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, cancellationToken);
        }
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, cancellationToken);
        }

        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return default!;
        }

        return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
            ?? throw new StratusApiException(response.StatusCode, "empty answer", $"{method} {path} answered with no body");
    }

    /// <summary>A problem+json (or v2 <c>{"error"}</c>) answer as an exception with its explanation.</summary>
    internal static async Task<StratusApiException> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.TryGetProperty("error", out var error))
            {
                return new StratusApiException(response.StatusCode, error.GetString() ?? string.Empty, string.Empty);
            }

            return new StratusApiException(
                response.StatusCode,
                root.TryGetProperty("title", out var title) ? title.GetString() ?? string.Empty : response.ReasonPhrase ?? string.Empty,
                root.TryGetProperty("detail", out var detail) ? detail.GetString() ?? string.Empty : string.Empty);
        }
        catch (JsonException)
        {
            return new StratusApiException(response.StatusCode, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", body.Length > 200 ? body[..200] : body);
        }
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    public void Dispose() => _http.Dispose();
}
