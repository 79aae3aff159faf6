using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Clouds;
using Stratus.Inference.Runtime;
using Stratus.Inference.Server;

namespace Stratus.ControlPlane.Tests.Support;

/// <summary>
/// A provider whose replicas are real replica servers in this process: the host <c>stratus replica</c> runs
/// (<see cref="ReplicaHost"/>: Kestrel and ONNX Runtime) on 127.0.0.1 port 0, with no child process. Tests that need a
/// provider's behaviour and not a process's use it; it passes the same contract suite as the real providers. The
/// cloud's state is the <see cref="InMemoryCloud"/> it is made over, so a provider made afresh over the same cloud (a
/// restarted control plane) finds the replicas another launched. <paramref name="spec"/> gives the shapes and their
/// capacity, as a real cloud's quota would.
/// </summary>
internal sealed class InMemoryCloudProvider(CloudSpec spec, InMemoryCloud cloud) : ICloudProvider, IOutageEmulation
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    public string CloudName => spec.Name;

    public InMemoryCloud Cloud => cloud;

    public async Task<ReplicaHandle> LaunchAsync(ReplicaLaunch launch, CancellationToken cancellationToken = default)
    {
        var replica = cloud.Reserve(CloudName, launch.Shape, spec.Capacity.TryGetValue(launch.Shape, out var capacity) ? capacity : null, launch.ReplicaId);
        try
        {
            await VerifyAsync(launch, cancellationToken);
            await cloud.WaitWhileHeldAsync(cancellationToken);
            return await StartAsync(replica, launch, cancellationToken);
        }
        catch
        {
            // Failed or cancelled: its place is free again and nothing of it runs.
            await cloud.StopAsync(cloud.Take(launch.ReplicaId, replica));
            throw;
        }
    }

    private async Task VerifyAsync(ReplicaLaunch launch, CancellationToken cancellationToken)
    {
        string actual;
        try
        {
            await using var stream = File.OpenRead(launch.ArtifactPath);
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
        }
        catch (IOException e)
        {
            throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {CloudName} cannot read the artifact of {launch.ModelName} version {launch.ModelVersion}: {e.Message}", e);
        }

        if (actual != launch.Sha256)
        {
            throw new ProvisioningException(
                ProvisioningScope.Cloud,
                $"the artifact of {launch.ModelName} version {launch.ModelVersion} for cloud {CloudName} has SHA-256 {actual}, expected {launch.Sha256}");
        }
    }

    private async Task<ReplicaHandle> StartAsync(InMemoryCloud.Replica replica, ReplicaLaunch launch, CancellationToken cancellationToken)
    {
        var options = new ReplicaOptions
        {
            ModelPath = cloud.LoadsInstead ?? launch.ArtifactPath,
            ModelName = launch.ServedName ?? launch.ModelName,
            ModelVersion = launch.ModelVersion,
            Port = 0,
            EmulatedLatency = spec.EmulatedLatency,
            FaultFile = cloud.Faults.Path,
        };

        // The replica's own log lines (its model loading, its warnings) go to its log, as a container's output would.
        var host = ReplicaHost.Create(options, logging => logging.AddProvider(replica.Log).AddFilter("Microsoft", LogLevel.Warning).SetMinimumLevel(LogLevel.Information));
        if (!cloud.Attach(replica, host))
        {
            await host.DisposeAsync();
            throw StoppedWhileStarting(launch);
        }

        await host.StartAsync(cancellationToken);
        ServedModel model;
        try
        {
            model = await host.ModelLoaded.WaitAsync(ReadyTimeout, cancellationToken);
        }
        catch (ModelLoadException e)
        {
            replica.Log.Add(e.Message);
            throw new ProvisioningException(ProvisioningScope.Deployment, $"replica {launch.ReplicaId} could not load its model: {e.Message}", e);
        }
        catch (TimeoutException)
        {
            throw new ProvisioningException(ProvisioningScope.Deployment, $"replica {launch.ReplicaId} was not ready within {ReadyTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }

        // The lines `stratus replica` prints once it serves (its banner's model and ready lines).
        replica.Log.Add($"model: {model.Name} version {model.Version} ({options.ModelPath})");
        replica.Log.Add($"ready at {host.Address}");
        if (!cloud.MarkReady(replica, host.Address))
        {
            throw StoppedWhileStarting(launch);
        }

        return new ReplicaHandle(launch.ReplicaId, CloudName, launch.Shape, host.Address);
    }

    private ProvisioningException StoppedWhileStarting(ReplicaLaunch launch) =>
        new(ProvisioningScope.Deployment, $"replica {launch.ReplicaId} in cloud {CloudName} was stopped while it started");

    public async Task StopAsync(string replicaId, CancellationToken cancellationToken = default)
    {
        cloud.ThrowIfUnreachable(CloudName);
        await cloud.StopAsync(cloud.Take(replicaId));
    }

    public Task<IReadOnlyList<ReplicaHandle>> ListAsync(CancellationToken cancellationToken = default)
    {
        cloud.ThrowIfUnreachable(CloudName);
        return Task.FromResult<IReadOnlyList<ReplicaHandle>>(
            [.. cloud.Replicas().Select(r => new ReplicaHandle(r.Id, CloudName, r.Shape, r.Endpoint) { Exited = r.Exited })]);
    }

    public Task<string?> LogsAsync(string replicaId, int lines, CancellationToken cancellationToken = default)
    {
        cloud.ThrowIfUnreachable(CloudName);
        return Task.FromResult(cloud.Find(replicaId)?.Log.Tail(lines));
    }

    public Task StopAllAsync(CancellationToken cancellationToken = default)
    {
        cloud.ThrowIfUnreachable(CloudName);
        return Task.WhenAll(cloud.Replicas().Select(r => cloud.StopAsync(cloud.Take(r.Id, r))));
    }

    /// <summary>The replicas outlive the provider, as a cloud's outlive a control plane; <see cref="InMemoryCloud"/> stops them.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public bool IsOut => cloud.IsOut;

    public string? Refusing => cloud.Refusal?.Describe();

    public Task OutageAsync(CancellationToken cancellationToken = default) => cloud.OutageAsync();

    public void Restore() => cloud.Restore();

    public void Refuse(ProvisioningScope scope, string? shape) => cloud.Refusal = new EmulatedRefusal(scope, shape);

    public void Accept() => cloud.Refusal = null;

    public IReadOnlyList<EmulatedFault> Faults => cloud.Faults.Faults;

    public void Fault(string deployment, int version, double errorRate) => cloud.Faults.Fault(deployment, version, errorRate);

    public void ClearFaults() => cloud.Faults.Clear();
}
