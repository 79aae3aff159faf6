using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Providers.Kubernetes;

/// <summary>
/// A cloud that is one Kubernetes cluster context and namespace: each replica is a Deployment of one pod (see
/// <see cref="ReplicaManifest"/>), labelled with this installation's cluster id, so the cluster itself says what runs
/// and a new provider adopts it. Pods are followed through a watch (<see cref="PodInformer"/>): a launch returns when
/// its pod turns Ready, a stop when its pod is gone. Deployments are listed from the API on every
/// <see cref="ListAsync"/> and launch, which also tells whether the API server answers at all.
/// </summary>
public sealed partial class KubernetesCloudProvider : ICloudProvider
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Waiting reasons of a container the kubelet will not start until something in the cluster changes.</summary>
    private static readonly HashSet<string> CannotStart = ["CreateContainerConfigError", "CreateContainerError", "ErrImagePull", "ImagePullBackOff", "InvalidImageName"];

    /// <summary>The grace period, and time for the kubelet and the API server to report the pod gone.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(ReplicaManifest.GracePeriodSeconds + 20);

    private readonly CloudSpec _cloud;
    private readonly KubernetesCloudSettings _settings;
    private readonly string _clusterId;
    private readonly IKubernetes _client;
    private readonly ILogger _logger;
    private readonly PodInformer _pods;
    private readonly SemaphoreSlim _launchGate = new(1, 1);

    public KubernetesCloudProvider(CloudSpec cloud, string clusterId, ILogger? logger = null)
        : this(cloud, clusterId, new k8s.Kubernetes(Configuration(cloud)), logger)
    {
    }

    /// <summary>A provider over a client made elsewhere; the provider disposes of it with itself.</summary>
    public KubernetesCloudProvider(CloudSpec cloud, string clusterId, IKubernetes client, ILogger? logger = null)
    {
        _cloud = cloud;
        _settings = cloud.Settings as KubernetesCloudSettings ?? throw new ArgumentException($"cloud {cloud.Name} has no kubernetes settings", nameof(cloud));
        _clusterId = clusterId;
        _client = client;
        _logger = logger ?? NullLogger.Instance;
        _pods = new PodInformer(client, _settings.Namespace, ReplicaManifest.Selector(clusterId, cloud.Name), _logger);
    }

    public string CloudName => _cloud.Name;

    /// <summary>The context <see cref="KubernetesCloudSettings.InCluster"/> is the pod's own ServiceAccount; any other, a kubeconfig's.</summary>
    private static KubernetesClientConfiguration Configuration(CloudSpec cloud)
    {
        var settings = cloud.Settings as KubernetesCloudSettings ?? throw new ArgumentException($"cloud {cloud.Name} has no kubernetes settings", nameof(cloud));
        try
        {
            return settings.Kubeconfig is null && settings.Context == KubernetesCloudSettings.InCluster
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile(settings.Kubeconfig, settings.Context);
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException)
        {
            throw new InvalidOperationException($"cloud {cloud.Name}: cannot use Kubernetes context '{settings.Context}' of {settings.Kubeconfig ?? "the default kubeconfig"}: {e.Message}", e);
        }
    }

    public async Task<ReplicaHandle> LaunchAsync(ReplicaLaunch launch, CancellationToken cancellationToken = default)
    {
        if (!_cloud.Capacity.TryGetValue(launch.Shape, out var capacity))
        {
            throw new ProvisioningException(ProvisioningScope.Shape, $"cloud {CloudName} offers no shape '{launch.Shape}'");
        }

        V1Deployment manifest;
        try
        {
            manifest = ReplicaManifest.Deployment(launch, _cloud, _settings, _clusterId);
        }
        catch (ArgumentException e)
        {
            throw new ProvisioningException(ProvisioningScope.Deployment, $"cloud {CloudName}: {e.Message}");
        }

        // The count and the create happen one launch at a time, so two launches cannot both take the last place.
        await _launchGate.WaitAsync(cancellationToken);
        try
        {
            var deployments = await ListDeploymentsAsync(cancellationToken);
            await _pods.SyncedAsync(CloudName, cancellationToken);
            var pods = _pods.Snapshot().Pods;
            var used = deployments.Count(d => Label(d, ReplicaManifest.ShapeLabel) == launch.Shape && HoldsCapacity(d, pods) && ReplicaOf(d) != launch.ReplicaId);
            if (used >= capacity)
            {
                throw new ProvisioningException(ProvisioningScope.Shape, $"cloud {CloudName} has no capacity left for shape '{launch.Shape}' ({used} of {capacity} in use)");
            }

            await CreateAsync(manifest, launch.ReplicaId, cancellationToken);
        }
        finally
        {
            _launchGate.Release();
        }

        return await AwaitReadyAsync(launch, cancellationToken);
    }

    private async Task CreateAsync(V1Deployment manifest, string replicaId, CancellationToken cancellationToken)
    {
        try
        {
            await Call(() => _client.AppsV1.CreateNamespacedDeploymentAsync(manifest, _settings.Namespace, cancellationToken: cancellationToken));
            LogCreated(_logger, CloudName, replicaId);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // AlreadyExists: a launch of this replica that a killed control plane made, or someone else's object.
            var existing = await Call(() => _client.AppsV1.ReadNamespacedDeploymentAsync(replicaId, _settings.Namespace, cancellationToken: cancellationToken));
            if (Label(existing, ReplicaManifest.ClusterLabel) != _clusterId || ReplicaOf(existing) != replicaId ||
                Label(existing, ReplicaManifest.CloudLabel) != CloudName)
            {
                throw new ProvisioningException(ProvisioningScope.Deployment, $"cloud {CloudName}: a Deployment named {replicaId} already exists in namespace {_settings.Namespace} and is not this replica's (its labels name another cluster, cloud or replica)");
            }

            LogAdopted(_logger, CloudName, replicaId);
        }
    }

    private async Task<ReplicaHandle> AwaitReadyAsync(ReplicaLaunch launch, CancellationToken cancellationToken)
    {
        _pods.RetryNow();
        PodState? state;
        try
        {
            state = await _pods.WaitAsync(
                pods => PodOf(pods, launch.ReplicaId) is { } pod && Evaluate(pod) is { } s && (s.Ready || s.Failure is not null) ? s : null,
                ReadyTimeout,
                CloudName,
                cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await DeleteQuietlyAsync(launch.ReplicaId);
            throw;
        }

        if (state is { Ready: true })
        {
            return new ReplicaHandle(launch.ReplicaId, CloudName, launch.Shape, state.Endpoint);
        }

        // Nothing of a failed launch stays: its Deployment goes, so it neither restarts nor holds capacity.
        string reason;
        ProvisioningScope scope;
        if (state?.Failure is { } failure)
        {
            var detail = failure.Message is { Length: > 0 } message ? message : await LogTailAsync(failure.Pod, failure.Container, 5, cancellationToken) ?? "(no output)";
            reason = $"replica {launch.ReplicaId}: {failure.What}: {OneLine(detail)}";

            // The model's delivery is the cloud's (its reach to the registry, the bytes it got); the replica's own exit is the deployment's.
            scope = failure.Unschedulable ? ProvisioningScope.Shape : failure.Container == ReplicaManifest.FetchContainer ? ProvisioningScope.Cloud : ProvisioningScope.Deployment;
        }
        else
        {
            reason = $"replica {launch.ReplicaId} was not ready within {ReadyTimeout.TotalSeconds} s";
            scope = ProvisioningScope.Deployment;
        }

        await StopAsync(launch.ReplicaId, cancellationToken);
        throw new ProvisioningException(scope, $"cloud {CloudName}: {reason}");
    }

    /// <summary>Deletes the Deployment (its pods go with it, each SIGTERMed with the grace period) and waits until no pod of it is left.</summary>
    public async Task StopAsync(string replicaId, CancellationToken cancellationToken = default)
    {
        try
        {
            await Call(() => _client.AppsV1.DeleteNamespacedDeploymentAsync(
                replicaId, _settings.Namespace, body: new V1DeleteOptions { PropagationPolicy = "Foreground" }, cancellationToken: cancellationToken));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Gone already; a pod it left behind (orphaned) is deleted below.
        }

        await _pods.SyncedAsync(CloudName, cancellationToken);
        foreach (var pod in _pods.Snapshot().Pods.Where(p => ReplicaOf(p) == replicaId && p.Metadata.DeletionTimestamp is null && !OwnedByDeployment(p)))
        {
            await DeletePodAsync(pod.Metadata.Name, cancellationToken);
        }

        _pods.RetryNow();
        if (await _pods.WaitAsync(pods => pods.Any(p => ReplicaOf(p) == replicaId) ? null : string.Empty, StopTimeout, CloudName, cancellationToken) is null)
        {
            LogStopSlow(_logger, CloudName, replicaId, StopTimeout.TotalSeconds);
        }
    }

    public async Task<IReadOnlyList<ReplicaHandle>> ListAsync(CancellationToken cancellationToken = default)
    {
        var deployments = await ListDeploymentsAsync(cancellationToken);
        await _pods.SyncedAsync(CloudName, cancellationToken);
        var pods = _pods.Snapshot().Pods;
        var handles = new List<ReplicaHandle>();
        foreach (var deployment in deployments.Where(d => d.Metadata.DeletionTimestamp is null))
        {
            var replicaId = ReplicaOf(deployment)!;
            var shape = Label(deployment, ReplicaManifest.ShapeLabel) ?? string.Empty;
            var state = PodOf(pods, replicaId) is { } pod ? Evaluate(pod) : null;
            handles.Add(new ReplicaHandle(replicaId, CloudName, shape, state is { Ready: true } ? state.Endpoint : null)
            {
                Exited = state?.Failure is { Unschedulable: false } failure ? $"{failure.What}{(failure.Message is { Length: > 0 } m ? ": " + OneLine(m) : string.Empty)}" : null,
            });
        }

        return handles;
    }

    public async Task<string?> LogsAsync(string replicaId, int lines, CancellationToken cancellationToken = default)
    {
        await _pods.SyncedAsync(CloudName, cancellationToken);
        if (PodOf(_pods.Snapshot().Pods, replicaId) is not { } pod)
        {
            return null;
        }

        return await LogTailAsync(pod, ReplicaManifest.ReplicaContainer, lines, cancellationToken) ?? string.Empty;
    }

    public async Task StopAllAsync(CancellationToken cancellationToken = default)
    {
        var deployments = await ListDeploymentsAsync(cancellationToken);
        await _pods.SyncedAsync(CloudName, cancellationToken);
        var replicas = deployments.Select(ReplicaOf).Concat(_pods.Snapshot().Pods.Select(ReplicaOf)).OfType<string>().Distinct();
        await Task.WhenAll(replicas.Select(r => StopAsync(r, cancellationToken)));
    }

    public async ValueTask DisposeAsync()
    {
        await _pods.DisposeAsync();
        _launchGate.Dispose();
        _client.Dispose();
    }

    /// <summary>This cloud's Deployments of this installation, from the API server itself.</summary>
    private async Task<IReadOnlyList<V1Deployment>> ListDeploymentsAsync(CancellationToken cancellationToken)
    {
        var list = await Call(() => _client.AppsV1.ListNamespacedDeploymentAsync(_settings.Namespace, labelSelector: ReplicaManifest.Selector(_clusterId, CloudName), cancellationToken: cancellationToken));
        _pods.RetryNow();
        return [.. list.Items.Where(d => ReplicaOf(d) is not null)];
    }

    /// <summary>A live Deployment holds its place; one being deleted holds it until its pod is gone.</summary>
    private static bool HoldsCapacity(V1Deployment deployment, IReadOnlyList<V1Pod> pods) =>
        deployment.Metadata.DeletionTimestamp is null || pods.Any(p => ReplicaOf(p) == ReplicaOf(deployment));

    private async Task DeletePodAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await Call(() => _client.CoreV1.DeleteNamespacedPodAsync(name, _settings.Namespace, cancellationToken: cancellationToken));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Gone meanwhile.
        }
    }

    private async Task DeleteQuietlyAsync(string replicaId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _client.AppsV1.DeleteNamespacedDeploymentAsync(replicaId, _settings.Namespace, body: new V1DeleteOptions { PropagationPolicy = "Foreground" }, cancellationToken: timeout.Token);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            LogCleanupFailed(_logger, CloudName, replicaId, e.Message);
        }
    }

    private async Task<string?> LogTailAsync(V1Pod pod, string container, int lines, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, _settings.Namespace, container: container, tailLines: lines, cancellationToken: cancellationToken);
            using var reader = new StreamReader(stream);
            return (await reader.ReadToEndAsync(cancellationToken)).TrimEnd('\n');
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            // The pod went, or its container has not started yet: it wrote nothing to read.
            return null;
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
    }

    /// <summary>
    /// One API call, with the faults of the cloud itself made <see cref="ProvisioningException"/>s of scope Cloud (or
    /// Shape, for an exceeded quota); the answers the caller handles (404, 409) pass through. The provider only
    /// creates and deletes, never updates, so no write of its own can meet a resourceVersion conflict.
    /// </summary>
    private async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict or HttpStatusCode.Gone)
        {
            throw;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden && e.Response.Content?.Contains("exceeded quota", StringComparison.Ordinal) == true)
        {
            throw new ProvisioningException(ProvisioningScope.Shape, $"cloud {CloudName} has no capacity left: {StatusMessage(e)}", e);
        }
        catch (HttpOperationException e)
        {
            throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {CloudName}: the Kubernetes API answered {(int)e.Response.StatusCode}: {StatusMessage(e)}", e);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
    }

    private ProvisioningException Unreachable(Exception e) =>
        new(ProvisioningScope.Cloud, $"cloud {CloudName}: the Kubernetes API server cannot be reached: {e.Message}", e);

    private static string StatusMessage(HttpOperationException e)
    {
        try
        {
            using var status = System.Text.Json.JsonDocument.Parse(e.Response.Content ?? string.Empty);
            return status.RootElement.TryGetProperty("message", out var message) ? message.GetString() ?? e.Message : e.Message;
        }
        catch (System.Text.Json.JsonException)
        {
            return e.Message;
        }
    }

    private static string? ReplicaOf(IKubernetesObject<V1ObjectMeta> item) => Label(item, ReplicaManifest.ReplicaLabel);

    private static string? Label(IKubernetesObject<V1ObjectMeta> item, string key) => item.Metadata?.Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;

    private static bool OwnedByDeployment(V1Pod pod) => pod.Metadata.OwnerReferences?.Any(o => o.Kind is "ReplicaSet" or "Deployment") == true;

    /// <summary>The replica's pod: the newest not being deleted, else the newest at all.</summary>
    private static V1Pod? PodOf(IReadOnlyList<V1Pod> pods, string replicaId) => pods
        .Where(p => ReplicaOf(p) == replicaId)
        .OrderBy(p => p.Metadata.DeletionTimestamp is null ? 0 : 1)
        .ThenByDescending(p => p.Metadata.CreationTimestamp)
        .FirstOrDefault();

    /// <summary>Ready with its address, starting, or failed for a reason the pod's status tells.</summary>
    internal static PodState Evaluate(V1Pod pod)
    {
        var status = pod.Status;
        if (status?.Phase is "Failed" or "Succeeded")
        {
            return new PodState(null, new PodFailure(pod, ReplicaManifest.ReplicaContainer, $"pod {status.Phase.ToLowerInvariant()}{(status.Reason is { } r ? $" ({r})" : string.Empty)}", status.Message, false));
        }

        if (status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled") is { Status: "False", Reason: "Unschedulable" } unschedulable)
        {
            return new PodState(null, new PodFailure(pod, ReplicaManifest.ReplicaContainer, "no node can take the pod (no capacity)", unschedulable.Message, true));
        }

        foreach (var (container, prefix) in (status?.InitContainerStatuses ?? []).Select(c => (c, "init container")).Concat((status?.ContainerStatuses ?? []).Select(c => (c, "container"))))
        {
            // Terminated now, or waiting to restart after it did (CrashLoopBackOff): either way it stopped on its own.
            var terminated = container.State?.Terminated is { } now && (prefix == "container" || now.ExitCode != 0)
                ? now
                : container.State?.Waiting?.Reason == "CrashLoopBackOff" ? container.LastState?.Terminated : null;
            if (container.State?.Waiting is { Reason: { } waiting } && CannotStart.Contains(waiting))
            {
                // Not coming up without a change to the cluster (a missing Secret, an image it cannot pull).
                return new PodState(null, new PodFailure(pod, container.Name, $"{prefix} {container.Name} cannot start ({waiting})", container.State.Waiting.Message, false));
            }

            if (terminated is not null)
            {
                var backoff = container.State?.Waiting?.Reason == "CrashLoopBackOff" ? ", CrashLoopBackOff" : string.Empty;
                return new PodState(null, new PodFailure(pod, container.Name, $"{prefix} {container.Name} exited with code {terminated.ExitCode.ToString(CultureInfo.InvariantCulture)}{backoff}", terminated.Message, false));
            }
        }

        var ready = status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true && pod.Metadata.DeletionTimestamp is null && status.PodIP is { Length: > 0 };
        return new PodState(ready ? new Uri($"http://{status!.PodIP}:{ReplicaManifest.Port.ToString(CultureInfo.InvariantCulture)}/") : null, null);
    }

    private static string OneLine(string text) => string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5));

    [LoggerMessage(Level = LogLevel.Information, Message = "cloud {Cloud}: created Deployment {Replica}")]
    private static partial void LogCreated(ILogger logger, string cloud, string replica);

    [LoggerMessage(Level = LogLevel.Information, Message = "cloud {Cloud}: Deployment {Replica} already existed with this replica's labels; adopted")]
    private static partial void LogAdopted(ILogger logger, string cloud, string replica);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cloud {Cloud}: replica {Replica}'s pod was still there {Seconds} s after its Deployment was deleted")]
    private static partial void LogStopSlow(ILogger logger, string cloud, string replica, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cloud {Cloud}: could not delete the Deployment of the cancelled launch {Replica}: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string cloud, string replica, string reason);
}

/// <summary>A pod as the provider sees it: its endpoint once Ready, or why it stopped.</summary>
internal sealed record PodState(Uri? Endpoint, PodFailure? Failure)
{
    public bool Ready => Endpoint is not null && Failure is null;
}

/// <summary>A container that stopped (or a pod no node takes), with the termination message the kubelet recorded.</summary>
internal sealed record PodFailure(V1Pod Pod, string Container, string What, string? Message, bool Unschedulable);
