using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using k8s.Models;

namespace Stratus.ControlPlane.Tests.Providers.Kubernetes;

/// <summary>
/// The node of <see cref="FakeKubernetes"/>: it runs each pod for real, its init containers one after another and then
/// its containers, each a child <c>dotnet stratus.dll ARGS</c> (the image is ignored: every image here is Stratus's),
/// and reports what happens in the pod's status as a kubelet does. Each pod has its own loopback address 127.a.b.N, so
/// every replica binds the same port; <c>$(VAR)</c> in args expands from the container's env, which takes the downward
/// API (<c>status.podIP</c>, <c>metadata.name</c>) and Secrets; an emptyDir is a folder, put in place of its mountPath
/// in args. The readiness probe is run to set the Ready condition; an exit is reported with its code and (for
/// <c>FallbackToLogsOnError</c>) the log's tail as termination message, and the container restarts after a
/// CrashLoopBackOff delay (restartPolicy Always). Deleting a pod sends SIGTERM, then SIGKILL after its grace period.
/// </summary>
internal sealed partial class FakeKubelet : IAsyncDisposable
{
    private const int SigTerm = 15;
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(10);

    private readonly FakeKubernetes _api;
    private readonly string _root;
    private readonly string _network = $"127.{Random.Shared.Next(16, 250)}.{Random.Shared.Next(1, 250)}.";
    private readonly ConcurrentDictionary<string, PodRun> _pods = new();
    private readonly HttpClient _probes = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(1) };
    private int _hosts;
    private volatile bool _disposed;

    public FakeKubelet(FakeKubernetes api, string root)
    {
        _api = api;
        _root = root;
    }

    /// <summary>Every process the node started for a container, by pod and container (for tests that kill one).</summary>
    public IReadOnlyList<(string Pod, string Container, int Pid)> Processes => [.. _pods.Values.SelectMany(p => p.Processes.Select(c => (p.Name, c.Key, c.Value.Id)))];

    /// <summary>While set, readiness probes are not run, so no pod turns Ready (as on a node too slow to probe).</summary>
    public bool HoldReadiness { get; set; }

    public void Run(V1Pod pod)
    {
        if (_disposed)
        {
            // The node is going away: the replacement pods its Deployments would get never run.
            return;
        }

        var run = new PodRun(pod, Path.Combine(_root, pod.Metadata.Name), $"{_network}{Interlocked.Increment(ref _hosts)}");
        _pods[pod.Metadata.Name] = run;
        run.Task = Task.Run(() => RunAsync(run));
    }

    /// <summary>Stops the pod's containers (on another thread: the API server calls this holding its lock).</summary>
    public void Terminate(string @namespace, string pod, TimeSpan grace)
    {
        if (_pods.TryGetValue(pod, out var run))
        {
            run.Grace = grace;
            _ = Task.Run(run.Stopping.Cancel);
        }
        else
        {
            _ = Task.Run(() => _api.PodGone(@namespace, pod));
        }
    }

    /// <summary>What the container's current run wrote; null before it first started.</summary>
    public string? LogOf(string pod, string container) =>
        _pods.TryGetValue(pod, out var run) && run.Logs.TryGetValue(container, out var log) && File.Exists(log) ? File.ReadAllText(log) : null;

    private void Update(PodRun run, Action<V1PodStatus> change) => _api.UpdatePod(run.Namespace, run.Name, pod =>
    {
        pod.Status ??= new V1PodStatus();
        change(pod.Status);
        var ready = pod.Status.ContainerStatuses?.All(c => c.Ready) == true;
        SetCondition(pod.Status, "ContainersReady", ready);
        SetCondition(pod.Status, "Ready", ready);
    });

    private static void SetCondition(V1PodStatus status, string type, bool value)
    {
        status.Conditions ??= [];
        var condition = status.Conditions.FirstOrDefault(c => c.Type == type);
        if (condition is null)
        {
            status.Conditions.Add(condition = new V1PodCondition { Type = type });
        }

        var text = value ? "True" : "False";
        if (condition.Status != text)
        {
            condition.Status = text;
            condition.LastTransitionTime = DateTime.UtcNow;
        }
    }

    private static V1ContainerStatus StatusOf(V1PodStatus status, string container, bool init)
    {
        var list = init ? status.InitContainerStatuses ??= [] : status.ContainerStatuses ??= [];
        return list.First(c => c.Name == container);
    }

    private async Task RunAsync(PodRun run)
    {
        try
        {
            Directory.CreateDirectory(run.Folder);
            foreach (var volume in run.Pod.Spec.Volumes ?? [])
            {
                Directory.CreateDirectory(Path.Combine(run.Folder, "volumes", volume.Name));
            }

            var init = run.Pod.Spec.InitContainers ?? [];
            Update(run, status =>
            {
                status.PodIP = run.Address;
                status.HostIP = "127.0.0.1";
                status.StartTime = DateTime.UtcNow;
                status.InitContainerStatuses = [.. init.Select(c => Waiting(c, "PodInitializing"))];
                status.ContainerStatuses = [.. run.Pod.Spec.Containers.Select(c => Waiting(c, "PodInitializing"))];
                SetCondition(status, "Initialized", init.Count == 0);
            });

            foreach (var container in init)
            {
                if (!await RunToCompletionAsync(run, container))
                {
                    return;
                }
            }

            Update(run, status =>
            {
                SetCondition(status, "Initialized", true);
                status.Phase = "Running";
            });
            await Task.WhenAll(run.Pod.Spec.Containers.Select(c => KeepRunningAsync(run, c)));
        }
        finally
        {
            _pods.TryRemove(run.Name, out _);
            _api.PodGone(run.Namespace, run.Name);
        }
    }

    private static V1ContainerStatus Waiting(V1Container container, string reason) => new()
    {
        Name = container.Name,
        Image = container.Image,
        ImageID = string.Empty,
        Ready = false,
        RestartCount = 0,
        State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason } },
    };

    /// <summary>An init container, restarted until it succeeds; false when the pod is deleted first.</summary>
    private async Task<bool> RunToCompletionAsync(PodRun run, V1Container container)
    {
        for (var restarts = 0; !run.Stopping.IsCancellationRequested; restarts++)
        {
            var exit = await RunOnceAsync(run, container, init: true);
            if (exit == 0)
            {
                return true;
            }

            if (!await BackOffAsync(run, container, init: true, restarts))
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>A container, restarted whenever it exits (restartPolicy Always) until the pod is deleted.</summary>
    private async Task KeepRunningAsync(PodRun run, V1Container container)
    {
        for (var restarts = 0; !run.Stopping.IsCancellationRequested; restarts++)
        {
            await RunOnceAsync(run, container, init: false);
            if (!await BackOffAsync(run, container, init: false, restarts))
            {
                return;
            }
        }
    }

    /// <summary>Waits out CrashLoopBackOff (10 s, doubling), reported as the container's waiting state; false when the pod is deleted meanwhile.</summary>
    private async Task<bool> BackOffAsync(PodRun run, V1Container container, bool init, int restarts)
    {
        if (run.Stopping.IsCancellationRequested)
        {
            return false;
        }

        Update(run, status =>
        {
            var state = StatusOf(status, container.Name, init);
            state.LastState = state.State?.Terminated is { } terminated ? new V1ContainerState { Terminated = terminated } : state.LastState;
            state.State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = state.LastState is null ? state.State?.Waiting?.Reason : "CrashLoopBackOff", Message = state.State?.Waiting?.Message } };
            state.RestartCount = restarts + 1;
        });
        try
        {
            await Task.Delay(FirstBackoff * Math.Pow(2, Math.Min(restarts, 5)), run.Stopping.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>One run of a container: its exit code, or -1 when it could not start (reported as CreateContainerConfigError).</summary>
    private async Task<int> RunOnceAsync(PodRun run, V1Container container, bool init)
    {
        if (Environment(run, container) is not { } env)
        {
            return -1;
        }

        var log = Path.Combine(run.Folder, "logs", $"{container.Name}-{Guid.NewGuid():N}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        File.WriteAllText(log, string.Empty);
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$FAKE_KUBELET_LOG\" 2>&1 </dev/null");
        info.ArgumentList.Add(Support.TestReplicas.Executable.FileName);
        foreach (var argument in Support.TestReplicas.Executable.PrefixArguments.Concat((container.Args ?? []).Select(a => Mounted(run, container, Expand(a, env)))))
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var inherited in info.Environment.Keys.Where(k => k.StartsWith("STRATUS_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(inherited);
        }

        info.Environment["HOME"] = Directory.CreateDirectory(Path.Combine(run.Folder, "home")).FullName;
        info.Environment["FAKE_KUBELET_LOG"] = log;
        foreach (var (name, value) in env)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        run.Logs[container.Name] = log;
        run.Processes[container.Name] = process;
        var started = DateTime.UtcNow;
        Update(run, status =>
        {
            var state = StatusOf(status, container.Name, init);
            state.State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = started } };
            state.ContainerID = $"fake://{process.Id}";
            state.Ready = init;
        });
        using var exited = new CancellationTokenSource();
        var probing = init || container.ReadinessProbe is null ? Task.CompletedTask : ProbeAsync(run, container, exited.Token);
        if (container.ReadinessProbe is null && !init)
        {
            Update(run, status => StatusOf(status, container.Name, init).Ready = true);
        }

        try
        {
            await process.WaitForExitAsync(run.Stopping.Token);
        }
        catch (OperationCanceledException)
        {
            // Deleted: SIGTERM, as the runtime does, and SIGKILL once the grace period is over.
            _ = Kill(process.Id, SigTerm);
            using var grace = new CancellationTokenSource(run.Grace);
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        await exited.CancelAsync();
        await probing;
        var code = process.ExitCode;
        run.Processes.TryRemove(container.Name, out _);
        var message = code != 0 && container.TerminationMessagePolicy == "FallbackToLogsOnError" ? Tail(log) : null;
        Update(run, status =>
        {
            var state = StatusOf(status, container.Name, init);
            state.Ready = false;
            state.State = new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated { ExitCode = code, Reason = code == 0 ? "Completed" : "Error", Message = message, StartedAt = started, FinishedAt = DateTime.UtcNow },
            };
        });
        return code;
    }

    /// <summary>The readiness probe, every periodSeconds, until the container exits.</summary>
    private async Task ProbeAsync(PodRun run, V1Container container, CancellationToken exited)
    {
        var probe = container.ReadinessProbe;
        var port = int.TryParse(probe.HttpGet.Port.Value, out var number) ? number : container.Ports.First(p => p.Name == probe.HttpGet.Port.Value).ContainerPort;
        var url = new Uri($"http://{probe.HttpGet.Host ?? run.Address}:{port}{probe.HttpGet.Path}");
        var ready = false;
        var failures = 0;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(probe.InitialDelaySeconds ?? 0), exited);
            while (true)
            {
                bool ok;
                if (HoldReadiness)
                {
                    await Task.Delay(TimeSpan.FromSeconds(probe.PeriodSeconds ?? 10), exited);
                    continue;
                }

                try
                {
                    using var response = await _probes.GetAsync(url, exited);
                    ok = (int)response.StatusCode is >= 200 and < 400;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !exited.IsCancellationRequested)
                {
                    ok = false;
                }

                failures = ok ? 0 : failures + 1;
                var now = ok || (ready && failures < (probe.FailureThreshold ?? 3));
                if (now != ready)
                {
                    ready = now;
                    Update(run, status => StatusOf(status, container.Name, init: false).Ready = now);
                }

                await Task.Delay(TimeSpan.FromSeconds(probe.PeriodSeconds ?? 10), exited);
            }
        }
        catch (OperationCanceledException)
        {
            // The container exited or the pod went: probing ends with it.
        }
    }

    /// <summary>The container's env, resolved; null (and the container waiting in CreateContainerConfigError) when a reference cannot be.</summary>
    private Dictionary<string, string>? Environment(PodRun run, V1Container container)
    {
        var env = new Dictionary<string, string>();
        foreach (var variable in container.Env ?? [])
        {
            string? value;
            string? problem = null;
            if (variable.ValueFrom?.FieldRef is { } field)
            {
                value = field.FieldPath switch
                {
                    "status.podIP" => run.Address,
                    "status.hostIP" => "127.0.0.1",
                    "metadata.name" => run.Name,
                    "metadata.namespace" => run.Namespace,
                    "spec.nodeName" => "fake-node",
                    _ => null,
                };
                problem = value is null ? $"unsupported fieldPath {field.FieldPath}" : null;
            }
            else if (variable.ValueFrom?.SecretKeyRef is { } reference)
            {
                var secret = _api.Secret(run.Namespace, reference.Name);
                value = secret?.Data?.TryGetValue(reference.Key, out var bytes) == true ? Encoding.UTF8.GetString(bytes) : null;
                problem = secret is null ? $"secret \"{reference.Name}\" not found" : value is null ? $"couldn't find key {reference.Key} in Secret {run.Namespace}/{reference.Name}" : null;
            }
            else
            {
                value = Expand(variable.Value ?? string.Empty, env);
            }

            if (problem is not null)
            {
                Update(run, status =>
                {
                    var state = StatusOf(status, container.Name, (run.Pod.Spec.InitContainers ?? []).Any(c => c.Name == container.Name));
                    state.State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "CreateContainerConfigError", Message = problem } };
                });
                return null;
            }

            env[variable.Name] = value!;
        }

        return env;
    }

    /// <summary><c>$(VAR)</c> from the env (unknown ones stay as they are); <c>$$</c> is a literal <c>$</c>.</summary>
    private static string Expand(string text, Dictionary<string, string> env) =>
        Reference().Replace(text, m => m.Value == "$$" ? "$" : env.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value);

    /// <summary>An argument under a volume's mountPath, pointed at the volume's folder.</summary>
    private static string Mounted(PodRun run, V1Container container, string argument)
    {
        foreach (var mount in (container.VolumeMounts ?? []).OrderByDescending(m => m.MountPath.Length))
        {
            var root = mount.MountPath.TrimEnd('/');
            if (argument == root || argument.StartsWith(root + "/", StringComparison.Ordinal))
            {
                return Path.Combine(run.Folder, "volumes", mount.Name) + argument[root.Length..];
            }
        }

        return argument;
    }

    /// <summary>What the kubelet takes as termination message from the log: its last 80 lines, at most 2048 bytes.</summary>
    private static string Tail(string log)
    {
        var text = string.Join('\n', File.ReadAllLines(log).TakeLast(80));
        return text.Length > 2048 ? text[^2048..] : text;
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var run in _pods.Values)
        {
            run.Grace = TimeSpan.FromSeconds(2);
            await run.Stopping.CancelAsync();
        }

        await Task.WhenAll(_pods.Values.Select(r => r.Task ?? Task.CompletedTask));
        _probes.Dispose();
        Stratus.Testing.ChildProcesses.KillMatching(_root);
    }

    [GeneratedRegex(@"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")]
    private static partial Regex Reference();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private sealed class PodRun(V1Pod pod, string folder, string address)
    {
        public V1Pod Pod { get; } = pod;

        public string Name => Pod.Metadata.Name;

        public string Namespace => Pod.Metadata.NamespaceProperty;

        public string Folder { get; } = folder;

        public string Address { get; } = address;

        public CancellationTokenSource Stopping { get; } = new();

        public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(30);

        public ConcurrentDictionary<string, string> Logs { get; } = new();

        public ConcurrentDictionary<string, Process> Processes { get; } = new();

        public Task? Task { get; set; }
    }
}
