using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Stratus.ControlPlane.Tests.Providers.Kubernetes;

/// <summary>
/// A Kubernetes API server for the provider's tests, on real Kestrel (127.0.0.1, port 0): apps/v1 Deployments and v1
/// Pods (create, get, list, watch, delete; pods/log), strict about what it takes. Every body is validated against the
/// Kubernetes 1.13 OpenAPI schema (<see cref="KubernetesSchema"/>) and refused with a Status as the API refuses it (400
/// for an unknown field or a wrong type, 422 for an invalid object, 404, 409 AlreadyExists); unknown query parameters
/// are refused too. Resource versions increase with every change; a watch streams the changes after its
/// resourceVersion, or answers 410 (Expired) for one older than the window (<see cref="ExpireWatches"/> compacts it).
/// A Deployment gets its pod at once, as its controllers would make it, and the pod's <see cref="FakeKubelet"/> runs
/// its containers for real. <see cref="Unreachable"/> makes every connection fail until <see cref="Reachable"/>.
/// </summary>
internal sealed partial class FakeKubernetes : IAsyncDisposable
{
    public const string Token = "fake-cluster-token";
    public const string Context = "fake";

    private static readonly HashSet<string> ListParameters = ["labelSelector", "watch", "resourceVersion", "timeoutSeconds", "limit", "continue", "fieldSelector", "pretty"];
    private static readonly HashSet<string> WriteParameters = ["pretty", "dryRun", "fieldManager", "fieldValidation"];
    private static readonly HashSet<string> DeleteParameters = ["pretty", "dryRun", "gracePeriodSeconds", "propagationPolicy", "orphanDependents"];
    private static readonly HashSet<string> LogParameters = ["container", "tailLines", "previous", "follow", "timestamps", "limitBytes", "sinceSeconds", "pretty"];

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Kind, string Namespace, string Name), IKubernetesObject<V1ObjectMeta>> _objects = [];
    private readonly List<(long Version, string Kind, string Namespace, IDictionary<string, string>? Labels, string Line)> _history = [];
    private readonly List<Watch> _watches = [];
    private long _version = 100;
    private long _compacted;
    private volatile bool _unreachable;

    private FakeKubernetes(WebApplication app, string root)
    {
        _app = app;
        Kubelet = new FakeKubelet(this, root);
    }

    public FakeKubelet Kubelet { get; }

    public Uri Address => new(_app.Urls.First());

    /// <summary>Every body the server accepted or refused, as sent: (method, path, body).</summary>
    public ConcurrentQueue<(string Method, string Path, string Body)> Bodies { get; } = new();

    /// <summary>How many full lists and how many watches of pods were asked for.</summary>
    public int PodLists => _podLists;

    public int PodWatches => _podWatches;

    private int _podLists;
    private int _podWatches;

    public static async Task<FakeKubernetes> StartAsync(string root)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("FAKE_K8S_DEBUG") is not null) { builder.Logging.AddSimpleConsole(); }
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeKubernetes(app, root);
        fake.Map();
        await app.StartAsync();
        return fake;
    }

    /// <summary>A kubeconfig whose context <see cref="Context"/> reaches this server with its token, written to <paramref name="path"/>.</summary>
    public string WriteKubeconfig(string path, string @namespace)
    {
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Address.ToString().TrimEnd('/')}
            users:
            - name: tests
              user:
                token: {Token}
            contexts:
            - name: {Context}
              context:
                cluster: fake
                user: tests
                namespace: {@namespace}
            current-context: {Context}
            """);
        return path;
    }

    public void AddSecret(string @namespace, string name, IReadOnlyDictionary<string, string> data) => Put("Secret", new V1Secret
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace },
        Data = data.ToDictionary(d => d.Key, d => Encoding.UTF8.GetBytes(d.Value)),
    });

    /// <summary>Compacts the history to now and ends every open watch with 410 Expired, as an etcd compaction does to watchers behind it.</summary>
    public void ExpireWatches()
    {
        lock (_lock)
        {
            _compacted = _version;
            _history.Clear();
            foreach (var watch in _watches)
            {
                watch.Events.Writer.TryWrite(Expired(watch.Version));
                watch.Events.Writer.TryComplete();
            }
        }
    }

    /// <summary>Every open connection is cut and every new request fails, until <see cref="Reachable"/>; the pods keep running, as nodes do.</summary>
    public void Unreachable()
    {
        _unreachable = true;
        lock (_lock)
        {
            foreach (var watch in _watches)
            {
                watch.Events.Writer.TryComplete(new IOException("the API server went away"));
            }
        }
    }

    public void Reachable() => _unreachable = false;

    /// <summary>The pods of a namespace as stored (copies).</summary>
    public IReadOnlyList<V1Pod> Pods(string @namespace)
    {
        lock (_lock)
        {
            return [.. _objects.Where(o => o.Key.Kind == "Pod" && o.Key.Namespace == @namespace).Select(o => Clone((V1Pod)o.Value))];
        }
    }

    public V1Secret? Secret(string @namespace, string name)
    {
        lock (_lock)
        {
            return _objects.GetValueOrDefault(("Secret", @namespace, name)) as V1Secret;
        }
    }

    /// <summary>Changes a pod's status (what the kubelet reports), as a new resource version with a MODIFIED event.</summary>
    public void UpdatePod(string @namespace, string name, Action<V1Pod> change)
    {
        lock (_lock)
        {
            if (_objects.GetValueOrDefault(("Pod", @namespace, name)) is V1Pod pod)
            {
                change(pod);
                Put("Pod", pod);
            }
        }
    }

    /// <summary>The kubelet is done with a deleted pod: it goes, and its Deployment makes another or, being deleted itself, goes too.</summary>
    public void PodGone(string @namespace, string name)
    {
        lock (_lock)
        {
            if (_objects.GetValueOrDefault(("Pod", @namespace, name)) is not V1Pod pod)
            {
                return;
            }

            Remove("Pod", pod);
            if (OwnerDeployment(pod) is { } deployment)
            {
                ReconcileDeployment(deployment);
            }
        }
    }

    private V1Deployment? OwnerDeployment(V1Pod pod) => _objects.Values.OfType<V1Deployment>().FirstOrDefault(d =>
        d.Metadata.NamespaceProperty == pod.Metadata.NamespaceProperty && pod.Metadata.OwnerReferences?.Any(o => o.Name.StartsWith(d.Metadata.Name + "-", StringComparison.Ordinal) && o.Uid == d.Metadata.Uid) == true);

    private List<V1Pod> PodsOf(V1Deployment deployment) =>
        [.. _objects.Values.OfType<V1Pod>().Where(p => p.Metadata.NamespaceProperty == deployment.Metadata.NamespaceProperty && p.Metadata.OwnerReferences?.Any(o => o.Uid == deployment.Metadata.Uid) == true)];

    /// <summary>What the Deployment and ReplicaSet controllers do for one pod: make it when missing, finish a foreground deletion when none is left.</summary>
    private void ReconcileDeployment(V1Deployment deployment)
    {
        var pods = PodsOf(deployment);
        if (deployment.Metadata.DeletionTimestamp is not null)
        {
            if (pods.Count == 0)
            {
                Remove("Deployment", deployment);
            }

            return;
        }

        if (pods.Count(p => p.Metadata.DeletionTimestamp is null) < (deployment.Spec.Replicas ?? 1))
        {
            var template = Clone(deployment.Spec.Template);
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(KubernetesJson.Serialize(template))))[..10];
            var pod = new V1Pod
            {
                ApiVersion = "v1",
                Kind = "Pod",
                Metadata = new V1ObjectMeta
                {
                    Name = $"{deployment.Metadata.Name}-{hash}-{Guid.NewGuid().ToString("N")[..5]}",
                    NamespaceProperty = deployment.Metadata.NamespaceProperty,
                    Labels = new Dictionary<string, string>(template.Metadata?.Labels ?? new Dictionary<string, string>()) { ["pod-template-hash"] = hash },
                    Uid = Guid.NewGuid().ToString(),
                    CreationTimestamp = DateTime.UtcNow,
                    OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = $"{deployment.Metadata.Name}-{hash}", Uid = deployment.Metadata.Uid, Controller = true }],
                },
                Spec = template.Spec,
                Status = new V1PodStatus { Phase = "Pending", Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "True" }] },
            };
            pod.Spec.RestartPolicy ??= "Always";
            pod.Spec.NodeName = "fake-node";
            Put("Pod", pod);
            Kubelet.Run(Clone(pod));
        }
    }

    private void Map()
    {
        _app.Use(async (context, next) =>
        {
            if (_unreachable)
            {
                context.Abort();
                return;
            }

            if (context.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
            {
                await StatusAsync(context, 401, "Unauthorized", "Unauthorized");
                return;
            }

            try
            {
                await next(context);
            }
            catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
            {
                // A fault of the fake itself: said in full, so the test that met it shows why.
                await StatusAsync(context, 500, "InternalError", e.ToString());
            }
        });

        _app.MapGet("/apis/apps/v1/namespaces/{ns}/deployments", (HttpContext context, string ns) => ListAsync<V1Deployment, V1DeploymentList>(context, "Deployment", ns, "apps/v1", "DeploymentList"));
        _app.MapPost("/apis/apps/v1/namespaces/{ns}/deployments", (HttpContext context, string ns) => CreateDeploymentAsync(context, ns));
        _app.MapGet("/apis/apps/v1/namespaces/{ns}/deployments/{name}", (HttpContext context, string ns, string name) => GetAsync(context, "Deployment", "deployments.apps", ns, name));
        _app.MapDelete("/apis/apps/v1/namespaces/{ns}/deployments/{name}", (HttpContext context, string ns, string name) => DeleteAsync(context, "Deployment", "deployments.apps", ns, name));
        _app.MapGet("/api/v1/namespaces/{ns}/pods", (HttpContext context, string ns) => ListAsync<V1Pod, V1PodList>(context, "Pod", ns, "v1", "PodList"));
        _app.MapGet("/api/v1/namespaces/{ns}/pods/{name}", (HttpContext context, string ns, string name) => GetAsync(context, "Pod", "pods", ns, name));
        _app.MapDelete("/api/v1/namespaces/{ns}/pods/{name}", (HttpContext context, string ns, string name) => DeleteAsync(context, "Pod", "pods", ns, name));
        _app.MapGet("/api/v1/namespaces/{ns}/pods/{name}/log", (HttpContext context, string ns, string name) => LogAsync(context, ns, name));
        _app.MapFallback((HttpContext context) => StatusAsync(context, 404, "NotFound", "the server could not find the requested resource"));
    }

    private static async Task<bool> QueryAllowedAsync(HttpContext context, HashSet<string> allowed)
    {
        if (context.Request.Query.Keys.FirstOrDefault(k => !allowed.Contains(k)) is { } unknown)
        {
            await StatusAsync(context, 400, "BadRequest", $"unknown query parameter \"{unknown}\"");
            return false;
        }

        return true;
    }

    private async Task ListAsync<T, TList>(HttpContext context, string kind, string ns, string apiVersion, string listKind)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : IKubernetesObject<V1ListMeta>, IItems<T>, new()
    {
        if (!await QueryAllowedAsync(context, ListParameters))
        {
            return;
        }

        if (!LabelSelector.TryParse(context.Request.Query["labelSelector"].ToString(), out var selector, out var problem))
        {
            await StatusAsync(context, 400, "BadRequest", $"unable to parse requirement: {problem}");
            return;
        }

        if (context.Request.Query["watch"] is { Count: > 0 } watch && watch.ToString() is "true" or "1")
        {
            if (kind == "Pod")
            {
                Interlocked.Increment(ref _podWatches);
            }

            await WatchAsync(context, kind, ns, selector);
            return;
        }

        if (kind == "Pod")
        {
            Interlocked.Increment(ref _podLists);
        }

        string json;
        lock (_lock)
        {
            var list = new TList { ApiVersion = apiVersion, Kind = listKind, Metadata = new V1ListMeta { ResourceVersion = _version.ToString(CultureInfo.InvariantCulture) } };
            list.Items = [.. _objects.Where(o => o.Key.Kind == kind && o.Key.Namespace == ns && selector.Matches(o.Value.Metadata.Labels)).Select(o => (T)o.Value)];
            json = KubernetesJson.Serialize(list);
        }

        await WriteJsonAsync(context, 200, json);
    }

    private async Task WatchAsync(HttpContext context, string kind, string ns, LabelSelector selector)
    {
        var from = context.Request.Query["resourceVersion"].ToString();
        var timeout = int.TryParse(context.Request.Query["timeoutSeconds"], CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);
        Watch watch;
        lock (_lock)
        {
            var since = from is "" or "0" ? -1 : long.TryParse(from, CultureInfo.InvariantCulture, out var v) ? v : long.MinValue;
            watch = new Watch(kind, ns, selector, Math.Max(since, 0), Channel.CreateUnbounded<string>());
            if (since != -1 && since < _compacted)
            {
                watch.Events.Writer.TryWrite(Expired(since));
                watch.Events.Writer.TryComplete();
            }
            else
            {
                if (since == -1)
                {
                    // No version: the current objects first, as ADDED, then the changes.
                    foreach (var item in _objects.Where(o => o.Key.Kind == kind && o.Key.Namespace == ns && selector.Matches(o.Value.Metadata.Labels)))
                    {
                        watch.Events.Writer.TryWrite(EventLine("ADDED", item.Value));
                    }
                }
                else
                {
                    foreach (var past in _history.Where(h => h.Version > since && h.Kind == kind && h.Namespace == ns && selector.Matches(h.Labels)))
                    {
                        watch.Events.Writer.TryWrite(past.Line);
                    }
                }

                _watches.Add(watch);
            }
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        ends.CancelAfter(timeout);
        try
        {
            await context.Response.StartAsync(ends.Token);
            await foreach (var line in watch.Events.Reader.ReadAllAsync(ends.Token))
            {
                await context.Response.WriteAsync(line + "\n", ends.Token);
                await context.Response.Body.FlushAsync(ends.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went, or the watch's time is up: the stream just ends.
        }
        catch (IOException)
        {
            context.Abort();
        }
        finally
        {
            lock (_lock)
            {
                _watches.Remove(watch);
            }
        }
    }

    private static string Expired(long version) => JsonSerializer.Serialize(new
    {
        type = "ERROR",
        @object = new { kind = "Status", apiVersion = "v1", metadata = new { }, status = "Failure", message = $"too old resource version: {version}", reason = "Expired", code = 410 },
    });

    private static string EventLine(string type, IKubernetesObject<V1ObjectMeta> item) => $"{{\"type\":\"{type}\",\"object\":{KubernetesJson.Serialize(item)}}}";

    private async Task CreateDeploymentAsync(HttpContext context, string ns)
    {
        if (!await QueryAllowedAsync(context, WriteParameters))
        {
            return;
        }

        var body = await ReadBodyAsync(context);
        if (await RefuseInvalidAsync(context, body, "apps/v1", "Deployment", "io.k8s.api.apps.v1.Deployment") is not { } element)
        {
            return;
        }

        var deployment = KubernetesJson.Deserialize<V1Deployment>(element.GetRawText());
        if (deployment.Metadata.NamespaceProperty is { } given && given != ns)
        {
            await StatusAsync(context, 400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
            return;
        }

        string json;
        lock (_lock)
        {
            if (_objects.ContainsKey(("Deployment", ns, deployment.Metadata.Name)))
            {
                json = string.Empty;
            }
            else
            {
                deployment.Metadata.NamespaceProperty = ns;
                deployment.Metadata.Uid = Guid.NewGuid().ToString();
                deployment.Metadata.CreationTimestamp = DateTime.UtcNow;
                deployment.Metadata.Generation = 1;
                deployment.Status = new V1DeploymentStatus { ObservedGeneration = 1, Replicas = deployment.Spec.Replicas ?? 1 };
                Put("Deployment", deployment);
                ReconcileDeployment(deployment);
                json = KubernetesJson.Serialize(deployment);
            }
        }

        if (json.Length == 0)
        {
            await StatusAsync(context, 409, "AlreadyExists", $"deployments.apps \"{deployment.Metadata.Name}\" already exists");
            return;
        }

        await WriteJsonAsync(context, 201, json);
    }

    private async Task GetAsync(HttpContext context, string kind, string resource, string ns, string name)
    {
        if (!await QueryAllowedAsync(context, WriteParameters))
        {
            return;
        }

        string? json;
        lock (_lock)
        {
            json = _objects.TryGetValue((kind, ns, name), out var item) ? KubernetesJson.Serialize(item) : null;
        }

        await (json is null ? StatusAsync(context, 404, "NotFound", $"{resource} \"{name}\" not found") : WriteJsonAsync(context, 200, json));
    }

    private async Task DeleteAsync(HttpContext context, string kind, string resource, string ns, string name)
    {
        if (!await QueryAllowedAsync(context, DeleteParameters))
        {
            return;
        }

        var body = await ReadBodyAsync(context);
        V1DeleteOptions options = new();
        if (body.Length > 0)
        {
            if (await RefuseInvalidAsync(context, body, null, "DeleteOptions", "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions") is not { } element)
            {
                return;
            }

            options = KubernetesJson.Deserialize<V1DeleteOptions>(element.GetRawText());
        }

        var policy = context.Request.Query["propagationPolicy"] is { Count: > 0 } p ? p.ToString() : options.PropagationPolicy ?? "Background";
        long? grace = context.Request.Query["gracePeriodSeconds"] is { Count: > 0 } g ? long.Parse(g.ToString(), CultureInfo.InvariantCulture) : options.GracePeriodSeconds;
        string? json;
        lock (_lock)
        {
            if (!_objects.TryGetValue((kind, ns, name), out var item))
            {
                json = null;
            }
            else if (item is V1Pod pod)
            {
                json = KubernetesJson.Serialize(DeletePod(pod, grace));
            }
            else
            {
                var deployment = (V1Deployment)item;
                var pods = PodsOf(deployment);
                if (policy == "Foreground" && pods.Count > 0)
                {
                    deployment.Metadata.DeletionTimestamp ??= DateTime.UtcNow;
                    deployment.Metadata.Finalizers = ["foregroundDeletion"];
                    Put("Deployment", deployment);
                    json = KubernetesJson.Serialize(deployment);
                }
                else
                {
                    Remove("Deployment", deployment);
                    json = JsonSerializer.Serialize(new { kind = "Status", apiVersion = "v1", metadata = new { }, status = "Success", details = new { name, group = "apps", kind = "deployments", uid = deployment.Metadata.Uid } });
                }

                if (policy != "Orphan")
                {
                    foreach (var owned in pods)
                    {
                        DeletePod(owned, grace);
                    }
                }
            }
        }

        await (json is null ? StatusAsync(context, 404, "NotFound", $"{resource} \"{name}\" not found") : WriteJsonAsync(context, 200, json));
    }

    private V1Pod DeletePod(V1Pod pod, long? grace)
    {
        if (pod.Metadata.DeletionTimestamp is null)
        {
            pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
            pod.Metadata.DeletionGracePeriodSeconds = grace ?? pod.Spec.TerminationGracePeriodSeconds ?? 30;
            Put("Pod", pod);
            Kubelet.Terminate(pod.Metadata.NamespaceProperty, pod.Metadata.Name, TimeSpan.FromSeconds(pod.Metadata.DeletionGracePeriodSeconds.Value));
        }

        return pod;
    }

    private async Task LogAsync(HttpContext context, string ns, string name)
    {
        if (!await QueryAllowedAsync(context, LogParameters))
        {
            return;
        }

        V1Pod? pod;
        lock (_lock)
        {
            pod = _objects.GetValueOrDefault(("Pod", ns, name)) as V1Pod;
        }

        if (pod is null)
        {
            await StatusAsync(context, 404, "NotFound", $"pods \"{name}\" not found");
            return;
        }

        var containers = pod.Spec.Containers.Select(c => c.Name).Concat(pod.Spec.InitContainers?.Select(c => c.Name) ?? []).ToList();
        var container = context.Request.Query["container"].ToString();
        if (container.Length == 0 && pod.Spec.Containers.Count + (pod.Spec.InitContainers?.Count ?? 0) > 1)
        {
            await StatusAsync(context, 400, "BadRequest", $"a container name must be specified for pod {name}, choose one of: [{string.Join(" ", containers)}]");
            return;
        }

        container = container.Length == 0 ? containers[0] : container;
        if (!containers.Contains(container))
        {
            await StatusAsync(context, 400, "BadRequest", $"container {container} is not valid for pod {name}");
            return;
        }

        if (Kubelet.LogOf(name, container) is not { } log)
        {
            await StatusAsync(context, 400, "BadRequest", $"container \"{container}\" in pod \"{name}\" is waiting to start: PodInitializing");
            return;
        }

        var lines = log.Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0)
        {
            lines = lines[..^1];
        }

        if (int.TryParse(context.Request.Query["tailLines"], CultureInfo.InvariantCulture, out var tail))
        {
            lines = lines[Math.Max(0, lines.Length - tail)..];
        }

        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(lines.Length == 0 ? string.Empty : string.Join('\n', lines) + "\n");
    }

    private async Task<JsonElement?> RefuseInvalidAsync(HttpContext context, string body, string? apiVersion, string kind, string definition)
    {
        JsonElement element;
        try
        {
            element = JsonDocument.Parse(body).RootElement;
        }
        catch (JsonException e)
        {
            await StatusAsync(context, 400, "BadRequest", $"the body is not JSON: {e.Message}");
            return null;
        }

        // DeleteOptions need not name their kind; everything else must be what the URL says.
        var problems = apiVersion is null ? KubernetesSchema.Instance.ValidateDefinition(element, definition, kind) : KubernetesSchema.Instance.Validate(element, apiVersion, kind);
        if (problems.Count == 0)
        {
            return element;
        }

        var decoding = problems.Where(p => p.Decoding).ToList();
        await (decoding.Count > 0
            ? StatusAsync(context, 400, "BadRequest", "strict decoding error: " + string.Join(", ", decoding))
            : StatusAsync(context, 422, "Invalid", $"{kind} is invalid: " + string.Join(", ", problems)));
        return null;
    }

    private async Task<string> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        if (body.Length > 0)
        {
            Bodies.Enqueue((context.Request.Method, context.Request.Path.ToString(), body));
        }

        return body;
    }

    private void Put(string kind, IKubernetesObject<V1ObjectMeta> item)
    {
        lock (_lock)
        {
            var key = (kind, item.Metadata.NamespaceProperty, item.Metadata.Name);
            var type = _objects.ContainsKey(key) ? "MODIFIED" : "ADDED";
            item.Metadata.ResourceVersion = (++_version).ToString(CultureInfo.InvariantCulture);
            _objects[key] = item;
            Publish(kind, item, type);
        }
    }

    private void Remove(string kind, IKubernetesObject<V1ObjectMeta> item)
    {
        lock (_lock)
        {
            item.Metadata.ResourceVersion = (++_version).ToString(CultureInfo.InvariantCulture);
            _objects.Remove((kind, item.Metadata.NamespaceProperty, item.Metadata.Name));
            Publish(kind, item, "DELETED");
        }
    }

    private void Publish(string kind, IKubernetesObject<V1ObjectMeta> item, string type)
    {
        var line = EventLine(type, item);
        var labels = item.Metadata.Labels is { } l ? new Dictionary<string, string>(l) : null;
        _history.Add((_version, kind, item.Metadata.NamespaceProperty, labels, line));
        foreach (var watch in _watches.Where(w => w.Kind == kind && w.Namespace == item.Metadata.NamespaceProperty && w.Selector.Matches(labels)))
        {
            watch.Events.Writer.TryWrite(line);
        }
    }

    private static T Clone<T>(T item) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(item));

    private static Task StatusAsync(HttpContext context, int code, string reason, string message) =>
        WriteJsonAsync(context, code, JsonSerializer.Serialize(new { kind = "Status", apiVersion = "v1", metadata = new { }, status = "Failure", message, reason, code }));

    private static async Task WriteJsonAsync(HttpContext context, int code, string json)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        Unreachable();
        await Kubelet.DisposeAsync();
        await _app.DisposeAsync();
    }

    private sealed record Watch(string Kind, string Namespace, LabelSelector Selector, long Version, Channel<string> Events);
}

/// <summary>Equality-based label selectors: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a</c>, <c>!a</c>, comma-separated.</summary>
internal sealed class LabelSelector
{
    private readonly List<Func<IDictionary<string, string>?, bool>> _requirements = [];

    public static bool TryParse(string text, out LabelSelector selector, out string? problem)
    {
        selector = new LabelSelector();
        problem = null;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (key, value, negate) = part.Contains("!=", StringComparison.Ordinal) ? (part[..part.IndexOf("!=", StringComparison.Ordinal)], part[(part.IndexOf("!=", StringComparison.Ordinal) + 2)..], true)
                : part.Contains("==", StringComparison.Ordinal) ? (part[..part.IndexOf("==", StringComparison.Ordinal)], part[(part.IndexOf("==", StringComparison.Ordinal) + 2)..], false)
                : part.Contains('=', StringComparison.Ordinal) ? (part[..part.IndexOf('=', StringComparison.Ordinal)], part[(part.IndexOf('=', StringComparison.Ordinal) + 1)..], false)
                : part.StartsWith('!') ? (part[1..], (string?)null, true)
                : (part, (string?)null, false);
            if (!Stratus.ControlPlane.Providers.Kubernetes.KubernetesNames.IsLabelKey(key) || (value is not null && !Stratus.ControlPlane.Providers.Kubernetes.KubernetesNames.IsLabelValue(value)))
            {
                problem = $"'{part}' is not a valid label requirement";
                return false;
            }

            selector._requirements.Add(labels =>
            {
                var has = labels is not null && labels.TryGetValue(key, out var actual) && (value is null || actual == value);
                return negate ? !has : has;
            });
        }

        return true;
    }

    public bool Matches(IDictionary<string, string>? labels) => _requirements.All(r => r(labels));
}
