using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Stratus.ControlPlane.Providers.Kubernetes;

/// <summary>
/// What a client-go informer does for one label selector of pods, in one namespace: list, then watch from the list's
/// resourceVersion, applying every event to a cache; a watch that ends is started again from the last version seen;
/// 410 Gone (the version left the server's window) relists; a dropped or refused connection is retried with backoff.
/// Waiters are woken on every change, so nothing polls the API server.
/// </summary>
internal sealed partial class PodInformer : IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>A watch the server ends after this long is started again; real servers end theirs after minutes too.</summary>
    private const int WatchTimeoutSeconds = 300;

    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly string _selector;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private Dictionary<string, V1Pod> _pods = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _retryNow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;

    public PodInformer(IKubernetes client, string @namespace, string selector, ILogger logger)
    {
        _client = client;
        _namespace = @namespace;
        _selector = selector;
        _logger = logger;
    }

    private int _failures;

    /// <summary>The last list or watch request could not reach the API server (cleared by the next one that does).</summary>
    public bool Unreachable { get; private set; }

    /// <summary>Starts the loop once; waits for the first list (<see cref="ProvisioningException"/> of scope Cloud if it cannot be made).</summary>
    public async Task SyncedAsync(string cloud, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _loop ??= Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        }

        var failures = _failures;
        RetryNow();
        while (!_synced.Task.IsCompleted)
        {
            var (_, changed) = Snapshot();
            if (_failures != failures)
            {
                throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {cloud}: the Kubernetes API server cannot be reached to list its pods");
            }

            await Task.WhenAny(_synced.Task, changed).WaitAsync(cancellationToken);
        }
    }

    /// <summary>Cuts a backoff short: the caller just reached the server, so the watch may be re-established now.</summary>
    public void RetryNow() => _retryNow.TrySetResult();

    /// <summary>The cached pods, and a task that completes at the next change (take both at once, then read, then wait).</summary>
    public (IReadOnlyList<V1Pod> Pods, Task Changed) Snapshot()
    {
        lock (_lock)
        {
            return ([.. _pods.Values], _changed.Task);
        }
    }

    /// <summary>
    /// Evaluates <paramref name="until"/> over the cache at every change until it returns a value, the time is up
    /// (null), or the API server turns out unreachable (<see cref="ProvisioningException"/> of scope Cloud).
    /// </summary>
    public async Task<T?> WaitAsync<T>(Func<IReadOnlyList<V1Pod>, T?> until, TimeSpan timeout, string cloud, CancellationToken cancellationToken)
        where T : class
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var failures = _failures;
        try
        {
            while (true)
            {
                var (pods, changed) = Snapshot();
                if (until(pods) is { } found)
                {
                    return found;
                }

                // Only a failure since this wait began counts: the watch may still be in its backoff from an earlier one.
                if (Unreachable && _failures != failures)
                {
                    throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {cloud}: the Kubernetes API server stopped answering the watch of its pods");
                }

                await changed.WaitAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var backoff = FirstBackoff;
        string? version = null;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (version is null)
                {
                    var list = await _client.CoreV1.ListNamespacedPodAsync(_namespace, labelSelector: _selector, cancellationToken: stopping);
                    Replace(list.Items);
                    version = list.Metadata.ResourceVersion;
                    Reached();
                    _synced.TrySetResult();
                }

                var gone = false;
                Exception? failed = null;
                await foreach (var (type, pod) in _client.CoreV1.WatchListNamespacedPodAsync(
                    _namespace,
                    labelSelector: _selector,
                    resourceVersion: version,
                    timeoutSeconds: WatchTimeoutSeconds,
                    onError: e =>
                    {
                        if (e is KubernetesException { Status.Code: (int)HttpStatusCode.Gone })
                        {
                            gone = true;
                        }
                        else
                        {
                            failed ??= e;
                        }
                    },
                    cancellationToken: stopping))
                {
                    Reached();
                    backoff = FirstBackoff;
                    Apply(type, pod);
                    version = pod.Metadata?.ResourceVersion ?? version;
                }

                Reached();
                if (gone)
                {
                    // The server no longer has the events after our version: only a fresh list is the truth.
                    LogGone(_logger, _namespace, version);
                    version = null;
                }
                else if (failed is not null)
                {
                    throw failed;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                LogGone(_logger, _namespace, version);
                version = null;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or HttpOperationException or KubernetesException or System.Text.Json.JsonException)
            {
                if (e is HttpRequestException or IOException)
                {
                    Unreachable = true;
                    Interlocked.Increment(ref _failures);
                    Signal();
                }

                LogWatchFailed(_logger, _namespace, backoff.TotalMilliseconds, e.Message);
                var retry = Interlocked.Exchange(ref _retryNow, new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                try
                {
                    await Task.WhenAny(Task.Delay(backoff, stopping), retry);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }
        }
    }

    private void Reached()
    {
        if (Unreachable)
        {
            Unreachable = false;
            Signal();
        }
    }

    private void Replace(IEnumerable<V1Pod> pods)
    {
        lock (_lock)
        {
            _pods = pods.ToDictionary(p => p.Metadata.Name);
        }

        Signal();
    }

    private void Apply(WatchEventType type, V1Pod pod)
    {
        if (pod.Metadata?.Name is not { } name)
        {
            return;
        }

        lock (_lock)
        {
            switch (type)
            {
                case WatchEventType.Added or WatchEventType.Modified:
                    _pods[name] = pod;
                    break;
                case WatchEventType.Deleted:
                    _pods.Remove(name);
                    break;
                default:
                    return;
            }
        }

        Signal();
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "pods of namespace {Namespace}: resourceVersion {Version} is gone (410); listing afresh")]
    private static partial void LogGone(ILogger logger, string @namespace, string? version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pods of namespace {Namespace}: watch failed, retrying in {DelayMs} ms: {Reason}")]
    private static partial void LogWatchFailed(ILogger logger, string @namespace, double delayMs, string reason);
}
