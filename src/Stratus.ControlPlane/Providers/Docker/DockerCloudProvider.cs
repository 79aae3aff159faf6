using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Docker.DotNet;
using Docker.DotNet.Models;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Providers.Docker;

/// <summary>
/// A cloud that is one Docker Engine: each replica is a container of the replica image, with the shape's CPU and
/// memory as limits, a bounded on-failure restart policy, host networking (bound to the cloud's advertised address
/// on a port picked here), a read-only root filesystem with a tmpfs <c>/tmp</c>, and a non-root user. Its labels
/// (cluster, cloud, deployment, model, version, replica, shape, spot, port, sha256) are the record: the engine, not
/// this object's memory, says what runs, so a restarted control plane adopts its containers and counts capacity as
/// any other control plane over the same engine does. The model reaches a container through a read-only volume per
/// model digest, filled once over the engine's archive API (so a remote engine gets it too), and the replica checks
/// the file's SHA-256 itself before it serves it.
/// </summary>
public sealed partial class DockerCloudProvider : ICloudProvider, IOutageEmulation
{
    public const string Label = "stratus.io/";
    public const string ClusterLabel = Label + "cluster";
    public const string CloudLabel = Label + "cloud";
    public const string ReplicaLabel = Label + "replica";
    public const string ShapeLabel = Label + "shape";
    public const string PortLabel = Label + "port";

    /// <summary>How often the engine restarts a replica that failed before it is left exited (and replaced by the reconciler).</summary>
    public const int RestartLimit = 3;

    private const int ArtifactMismatchExit = 7;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> EngineGates = new(StringComparer.Ordinal);
    private static readonly HttpClient Probe = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), PooledConnectionLifetime = TimeSpan.FromSeconds(10) }) { Timeout = TimeSpan.FromSeconds(2) };

    private readonly CloudSpec _cloud;
    private readonly DockerCloudSettings _settings;
    private readonly string _clusterId;
    private readonly string? _imageSource;
    private readonly string _files;
    private readonly EmulatedCloudState _emulation;
    private readonly DockerClient _client;
    private readonly SemaphoreSlim _launchGate = new(1, 1);

    /// <param name="imageSource">Where the default image's program comes from when the engine lacks it: this program's folder when null.</param>
    public DockerCloudProvider(CloudSpec cloud, DockerCloudSettings settings, string clusterId, string dataDirectory, string? imageSource = null)
    {
        _cloud = cloud;
        _settings = settings;
        _clusterId = clusterId;
        _imageSource = imageSource;
        var root = Path.Combine(dataDirectory, "clouds", cloud.Name);
        _emulation = new EmulatedCloudState(cloud, root);

        // Faults reach replicas through a read-only bind mount of this folder, which only an engine on this machine can see.
        _files = root;
        _client = DockerEngines.Connect(settings.Endpoint, settings.Tls);
    }

    public string CloudName => _cloud.Name;

    /// <summary>The image this cloud's replicas run: the cloud's own, else this build's.</summary>
    public string Image => _settings.Image ?? ReplicaImage.DefaultTag;

    /// <summary>The container of a replica: named after the cluster, the cloud and the replica, so one engine can hold several of each.</summary>
    public string ContainerNameOf(string replicaId) => Sanitize($"stratus-{_clusterId}-{CloudName}-{replicaId}");

    /// <summary>The volume that holds one model file, by its digest, for this cluster.</summary>
    public string ModelVolumeOf(string sha256) => Sanitize($"stratus-{_clusterId}-model-{sha256}");

    public async Task<ReplicaHandle> LaunchAsync(ReplicaLaunch launch, CancellationToken cancellationToken = default)
    {
        // The capacity check and the container's creation happen one launch at a time per provider: a created
        // container is counted by the next launch (and by any other control plane over this engine). Starting it and
        // waiting for it to be ready are not serialised, so a slow replica never holds up the next launch.
        if (!File.Exists(launch.ArtifactPath))
        {
            throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {CloudName}: the artifact of {launch.ModelName} version {launch.ModelVersion} is not at {launch.ArtifactPath}");
        }

        string id;
        int port;
        await _launchGate.WaitAsync(cancellationToken);
        try
        {
            var capacity = _emulation.CapacityForLaunch(launch.Shape);
            var own = await EngineAsync(() => ListContainersAsync(cancellationToken));
            _emulation.EnsureRoom(launch.Shape, capacity, own.Count(c => LabelOf(c, ShapeLabel) == launch.Shape && !HasEnded(c)));
            var image = await EngineAsync(() => EnsureImageAsync(cancellationToken));
            var model = await EngineAsync(() => EnsureVolumeAsync(ModelVolumeOf(launch.Sha256), "model.onnx", () => File.OpenRead(launch.ArtifactPath), image, cancellationToken));
            string? warmUp = null;
            if (launch.WarmUpRequests.Count > 0)
            {
                var requests = Encoding.UTF8.GetBytes("[" + string.Join(",", launch.WarmUpRequests) + "]");
                warmUp = await EngineAsync(() => EnsureVolumeAsync(Sanitize($"stratus-{_clusterId}-warmup-{Convert.ToHexStringLower(SHA256.HashData(requests))}"), "warmup.json", () => new MemoryStream(requests, writable: false), image, cancellationToken));
            }

            // Every cloud of this process on the same engine picks ports from the same set: one at a time, until the
            // container that holds the port (by its label) exists.
            var ports = GateOf("ports");
            await ports.WaitAsync(cancellationToken);
            try
            {
                port = await EngineAsync(() => PickPortAsync(cancellationToken));
                id = await EngineAsync(() => CreateAsync(launch, image, model, warmUp, port, cancellationToken));
            }
            finally
            {
                ports.Release();
            }
        }
        finally
        {
            _launchGate.Release();
        }

        try
        {
            return await StartAsync(launch, id, port, cancellationToken);
        }
        catch (Exception e) when (e is ProvisioningException or OperationCanceledException)
        {
            try
            {
                await EngineAsync(() => RemoveAsync(id, CancellationToken.None));
            }
            catch (ProvisioningException)
            {
                // The engine is away: the container is left to the next listing, which the reconciler acts on.
            }

            throw;
        }
    }

    public Task StopAsync(string replicaId, CancellationToken cancellationToken = default) => EngineAsync(async () =>
    {
        try
        {
            // SIGTERM, so the replica stops taking requests and finishes those it holds; SIGKILL after the grace period.
            await _client.Containers.StopContainerAsync(ContainerNameOf(replicaId), new ContainerStopParameters { WaitBeforeKillSeconds = (uint)StopGrace.TotalSeconds }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            return;
        }

        await RemoveAsync(ContainerNameOf(replicaId), cancellationToken);
    });

    public Task<IReadOnlyList<ReplicaHandle>> ListAsync(CancellationToken cancellationToken = default) => EngineAsync(async () =>
    {
        var handles = new List<ReplicaHandle>();
        var containers = await ListContainersAsync(cancellationToken);
        var probes = containers.Select(async container =>
        {
            var replica = LabelOf(container, ReplicaLabel)!;
            var shape = LabelOf(container, ShapeLabel) ?? string.Empty;
            switch (container.State)
            {
                case "running":
                    var endpoint = EndpointOf(container);
                    return new ReplicaHandle(replica, CloudName, shape, await IsReadyAsync(endpoint, cancellationToken) ? endpoint : null);
                case "exited" or "dead":
                    // The engine restarts a failed replica itself (state "restarting") until its limit: one that is
                    // exited stays exited. The reconciler records why and replaces it.
                    return await ExitReasonAsync(container.ID, cancellationToken) is { } reason ? new ReplicaHandle(replica, CloudName, shape, null) { Exited = "container " + reason } : null;
                case "created" when container.Created.ToUniversalTime() < DateTime.UtcNow - ReadyTimeout:
                    // Created by a launch that never started it (its control plane died in between): nobody owns it.
                    await RemoveAsync(container.ID, cancellationToken);
                    return null;
                case "removing":
                    return null;
                default:
                    // Created a moment ago, restarting, or paused: there, but not serving.
                    return new ReplicaHandle(replica, CloudName, shape, null);
            }
        });
        foreach (var handle in await Task.WhenAll(probes))
        {
            if (handle is not null)
            {
                handles.Add(handle);
            }
        }

        return (IReadOnlyList<ReplicaHandle>)handles;
    });

    public Task<string?> LogsAsync(string replicaId, int lines, CancellationToken cancellationToken = default) => EngineAsync(async () =>
    {
        try
        {
            return (string?)await TailAsync(ContainerNameOf(replicaId), lines, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    });

    /// <summary>Stops every replica of this cloud, including any still starting, each gracefully and all at once.</summary>
    public async Task StopAllAsync(CancellationToken cancellationToken = default)
    {
        var containers = await EngineAsync(() => ListContainersAsync(cancellationToken));
        await Task.WhenAll(containers.Select(c => StopAsync(LabelOf(c, ReplicaLabel)!, cancellationToken)));
    }

    /// <summary>
    /// Takes the cloud down, for real: every container of this cloud is killed at once (SIGKILL, no grace) and removed,
    /// and launches are refused until <see cref="Restore"/>. The marker is a file in the cloud's data folder, so the
    /// outage outlasts a control-plane restart.
    /// </summary>
    public async Task OutageAsync(CancellationToken cancellationToken = default)
    {
        await _emulation.MarkOutAsync(cancellationToken);
        var containers = await EngineAsync(() => ListContainersAsync(cancellationToken));
        await EngineAsync(() => Task.WhenAll(containers.Select(c => RemoveAsync(c.ID, cancellationToken))));
    }

    public bool IsOut => _emulation.IsOut;

    public void Restore() => _emulation.Restore();

    public string? Refusing => _emulation.Refusing;

    public void Refuse(ProvisioningScope scope, string? shape) => _emulation.Refuse(scope, shape);

    public void Accept() => _emulation.Accept();

    public IReadOnlyList<Stratus.Inference.Server.EmulatedFault> Faults => _emulation.Faults;

    /// <summary>Faults reach the replicas through a bind mount of the cloud's data folder: only an engine on this machine (a unix socket) sees them.</summary>
    public void Fault(string deployment, int version, double errorRate)
    {
        if (!_settings.IsLocalEngine)
        {
            throw new NotSupportedException($"cloud {CloudName}: emulated faults reach replicas through a bind mount, which needs an engine on this machine; {_settings.Endpoint} is remote");
        }

        _emulation.Fault(deployment, version, errorRate);
    }

    public void ClearFaults() => _emulation.ClearFaults();

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        _launchGate.Dispose();
        return ValueTask.CompletedTask;
    }

    private Task<IList<ContainerListResponse>> ListContainersAsync(CancellationToken cancellationToken) =>
        _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ClusterLabel}={_clusterId}"] = true, [$"{CloudLabel}={CloudName}"] = true },
            },
        }, cancellationToken);

    private static string? LabelOf(ContainerListResponse container, string label) =>
        container.Labels is { } labels && labels.TryGetValue(label, out var value) ? value : null;

    /// <summary>Exited or dead: it holds no capacity, and will not run again by itself.</summary>
    private static bool HasEnded(ContainerListResponse container) => container.State is "exited" or "dead";

    private Uri EndpointOf(ContainerListResponse container) =>
        new($"http://{FormatHost(_settings.AdvertiseHost)}:{LabelOf(container, PortLabel)}/");

    private static async Task<bool> IsReadyAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Probe.GetAsync(new Uri(endpoint, "v2/health/ready"), cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// Why an exited container ended ("exited with code 137 (killed for exceeding its memory limit)"); null when it was
    /// removed in the meantime (stopped while we looked).
    /// </summary>
    private async Task<string?> ExitReasonAsync(string id, CancellationToken cancellationToken)
    {
        State? state;
        try
        {
            state = (await _client.Containers.InspectContainerAsync(id, cancellationToken)).State;
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }

        return state is null ? "exited"
            : state.OOMKilled
            ? $"exited with code {state.ExitCode} (killed for exceeding its memory limit)"
            : $"exited with code {state.ExitCode}";
    }

    /// <summary>
    /// The image to run. This build's own is built from the running program and loaded the first time an engine lacks
    /// it (one build at a time per engine and process), so a docker cloud needs no step before <c>stratus up</c>.
    /// </summary>
    private async Task<string> EnsureImageAsync(CancellationToken cancellationToken)
    {
        if (await HasImageAsync(Image, cancellationToken))
        {
            return Image;
        }

        if (_settings.Image is not null)
        {
            throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {CloudName}: the docker engine at {_settings.Endpoint} has no image '{Image}' (clouds.yaml docker.image); load it there first (stratus image build --tag {Image} --load {_settings.Endpoint})");
        }

        var gate = GateOf("image");
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!await HasImageAsync(Image, cancellationToken))
            {
                var archive = Path.Combine(Path.GetTempPath(), $"stratus-replica-{Guid.NewGuid():N}.tar");
                try
                {
                    await ReplicaImage.BuildAsync(archive, _imageSource, Image, cancellationToken);
                    await DockerEngines.LoadImageAsync(_client, archive, cancellationToken);
                }
                finally
                {
                    File.Delete(archive);
                    File.Delete(archive + ".json");
                }
            }
        }
        finally
        {
            gate.Release();
        }

        return Image;
    }

    /// <summary>One gate per engine and purpose, shared by every provider of this process over that engine.</summary>
    private SemaphoreSlim GateOf(string purpose) => EngineGates.GetOrAdd($"{purpose} {_settings.Endpoint}", _ => new SemaphoreSlim(1, 1));

    private async Task<bool> HasImageAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Images.InspectImageAsync(image, cancellationToken);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// A named volume holding one file, filled once: uploaded as a tar into a container that is created (never
    /// started) with the volume mounted, then removed. It works the same for an engine on another machine. A volume
    /// whose file is damaged is found by the replica's own SHA-256 check and removed then, so the next launch refills it.
    /// </summary>
    private async Task<string> EnsureVolumeAsync(string name, string file, Func<Stream> content, string image, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Volumes.InspectAsync(name, cancellationToken);
            return name;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Not there yet: made below.
        }

        await _client.Volumes.CreateAsync(new VolumesCreateParameters { Name = name, Labels = new Dictionary<string, string> { [ClusterLabel] = _clusterId } }, cancellationToken);
        var filler = await _client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image,
            Labels = new Dictionary<string, string> { [ClusterLabel] = _clusterId, [Label + "filler"] = name },
            HostConfig = new HostConfig { NetworkMode = "none", Mounts = [new Mount { Type = "volume", Source = name, Target = "/fill" }] },
        }, cancellationToken);
        try
        {
            using var tar = new MemoryStream();
            await using (var source = content())
            await using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
            {
                var entry = new UstarTarEntry(TarEntryType.RegularFile, file) { DataStream = source, Mode = (UnixFileMode)0b100_100_100, ModificationTime = DateTimeOffset.UnixEpoch };
                await writer.WriteEntryAsync(entry, cancellationToken);
            }

            tar.Position = 0;
            await _client.Containers.ExtractArchiveToContainerAsync(filler.ID, new CopyToContainerParameters { Path = "/fill" }, tar, cancellationToken);
        }
        catch
        {
            await _client.Containers.RemoveContainerAsync(filler.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
            await _client.Volumes.RemoveAsync(name, force: true, CancellationToken.None);
            throw;
        }

        await _client.Containers.RemoveContainerAsync(filler.ID, new ContainerRemoveParameters { Force = true }, cancellationToken);
        return name;
    }

    /// <summary>
    /// A port free on the advertised address (where this machine can bind it) and not labelled on any other stratus
    /// container of the engine, whichever cluster made it: with host networking they all share the host's ports.
    /// </summary>
    private async Task<int> PickPortAsync(CancellationToken cancellationToken)
    {
        var taken = (await _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [PortLabel] = true } },
        }, cancellationToken)).Select(c => LabelOf(c, PortLabel)!).ToHashSet(StringComparer.Ordinal);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = FreePort() ?? Random.Shared.Next(20_000, 32_000);
            if (!taken.Contains(port.ToString(CultureInfo.InvariantCulture)))
            {
                return port;
            }
        }

        throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {CloudName}: no free port found on {_settings.AdvertiseHost}");
    }

    /// <summary>A port the system says is free on the advertised address; null where that address is not this machine's (a remote engine).</summary>
    private int? FreePort()
    {
        if (!IPAddress.TryParse(_settings.AdvertiseHost, out var address))
        {
            return null;
        }

        try
        {
            using var listener = new TcpListener(address, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private async Task<string> CreateAsync(ReplicaLaunch launch, string image, string model, string? warmUp, int port, CancellationToken cancellationToken)
    {
        var resources = _cloud.ResourcesOf(launch.Shape);
        var latency = ((int)_cloud.EmulatedLatency.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        List<string> arguments =
        [
            "replica", "--model", "/models/model.onnx", "--sha256", launch.Sha256, "--name", launch.ServedName ?? launch.ModelName, "--version", launch.ModelVersion,
            "--host", _settings.AdvertiseHost, "--port", port.ToString(CultureInfo.InvariantCulture), "--emulated-latency-ms", latency,
        ];
        List<Mount> mounts = [new() { Type = "volume", Source = model, Target = "/models", ReadOnly = true }];
        if (warmUp is not null)
        {
            mounts.Add(new Mount { Type = "volume", Source = warmUp, Target = "/warmup", ReadOnly = true });
            arguments.AddRange(["--warm-up-file", "/warmup/warmup.json"]);
        }

        if (_settings.IsLocalEngine)
        {
            mounts.Add(new Mount { Type = "bind", Source = _files, Target = "/stratus", ReadOnly = true });
            arguments.AddRange(["--fault-file", "/stratus/" + Path.GetFileName(_emulation.FaultFile)]);
        }

        var memory = resources.MemoryMiB * 1024L * 1024;
        var created = await _client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = ContainerNameOf(launch.ReplicaId),
            Image = image,
            Cmd = arguments,
            User = ReplicaImage.User,
            Labels = new Dictionary<string, string>
            {
                [ClusterLabel] = _clusterId,
                [CloudLabel] = CloudName,
                [Label + "deployment"] = launch.ServedName ?? launch.ModelName,
                [Label + "model"] = launch.ModelName,
                [Label + "version"] = launch.ModelVersion,
                [ReplicaLabel] = launch.ReplicaId,
                [ShapeLabel] = launch.Shape,
                [Label + "spot"] = launch.Spot ? "true" : "false",
                [PortLabel] = port.ToString(CultureInfo.InvariantCulture),
                [Label + "sha256"] = launch.Sha256,
            },
            HostConfig = new HostConfig
            {
                NanoCPUs = (long)(resources.Cpu * 1_000_000_000),
                Memory = memory,
                MemorySwap = memory,
                // No restarts until it has been ready once (StartAsync sets on-failure then): a replica that fails its
                // launch stays exited, with its exit code, and the launch reports that.
                RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.No },
                NetworkMode = "host",
                ReadonlyRootfs = true,
                Tmpfs = new Dictionary<string, string> { ["/tmp"] = "rw,nosuid,nodev,size=64m" },
                Mounts = mounts,
            },
        }, cancellationToken);
        return created.ID;
    }

    private async Task<ReplicaHandle> StartAsync(ReplicaLaunch launch, string id, int port, CancellationToken cancellationToken)
    {
        await EngineAsync(() => _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken));
        var endpoint = new Uri($"http://{FormatHost(_settings.AdvertiseHost)}:{port}/");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var exited = EngineAsync(() => _client.Containers.WaitContainerAsync(id, stop.Token));
        try
        {
            var deadline = DateTime.UtcNow + ReadyTimeout;
            while (true)
            {
                if (exited.IsCompleted)
                {
                    // Exiting during its launch is what the model or its deployment did (it failed to load, crashed at
                    // start), except a damaged model copy, which is this cloud's: that volume goes, and is refilled.
                    var code = (await exited).StatusCode;
                    var tail = await EngineAsync(() => TailAsync(id, 3, CancellationToken.None));
                    if (code == ArtifactMismatchExit)
                    {
                        await EngineAsync(() => RemoveAsync(id, CancellationToken.None));
                        await EngineAsync(() => RemoveVolumeAsync(ModelVolumeOf(launch.Sha256)));
                        throw new ProvisioningException(ProvisioningScope.Cloud, $"the copy of {launch.ModelName} version {launch.ModelVersion} in cloud {CloudName} failed its SHA-256 check in replica {launch.ReplicaId}; its volume was removed: {tail.ReplaceLineEndings(" | ")}");
                    }

                    var reason = await EngineAsync(() => ExitReasonAsync(id, CancellationToken.None)) ?? $"exited with code {code}";
                    throw new ProvisioningException(ProvisioningScope.Deployment, $"replica {launch.ReplicaId} {reason}: {tail.ReplaceLineEndings(" | ")}");
                }

                // Ready only while its container still runs: an answer from a container that has just exited (it could
                // not bind its port) came from whoever holds that port.
                if (await IsReadyAsync(endpoint, cancellationToken) && !exited.IsCompleted)
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new ProvisioningException(ProvisioningScope.Deployment, $"replica {launch.ReplicaId} was not ready within {ReadyTimeout.TotalSeconds} s");
                }

                // The replica tells readiness only over HTTP; probe it briefly, or learn at once that it exited.
                await Task.WhenAny(exited, Task.Delay(100, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            await stop.CancelAsync();
            await exited.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        await EngineAsync(() => _client.Containers.UpdateContainerAsync(id, new ContainerUpdateParameters
        {
            RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.OnFailure, MaximumRetryCount = RestartLimit },
        }, cancellationToken));
        return new ReplicaHandle(launch.ReplicaId, CloudName, launch.Shape, endpoint);
    }

    /// <summary>The last lines a container wrote, stdout and stderr in the order the engine framed them.</summary>
    private async Task<string> TailAsync(string container, int lines, CancellationToken cancellationToken)
    {
        using var stream = await _client.Containers.GetContainerLogsAsync(container, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = lines.ToString(CultureInfo.InvariantCulture) }, cancellationToken);
        var text = new StringBuilder();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            if (read.EOF)
            {
                break;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
        }

        return string.Join('\n', text.ToString().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).TakeLast(lines));
    }

    private async Task RemoveVolumeAsync(string volume)
    {
        try
        {
            await _client.Volumes.RemoveAsync(volume, force: true, CancellationToken.None);
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Gone already, or another replica still has it mounted: the next failed check removes it.
        }
    }

    private async Task RemoveAsync(string container, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Containers.RemoveContainerAsync(container, new ContainerRemoveParameters { Force = true }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            // Gone already.
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            // Already being removed.
        }
    }

    /// <summary>Runs an engine call; an engine that cannot be reached, or refuses the call, is the cloud's fault (scope Cloud).</summary>
    private async Task<T> EngineAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (DockerApiException e)
        {
            // What the callers expect (no such container, no such volume) is handled inside; anything else the engine
            // refuses or fails is the cloud's.
            throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {CloudName}: the docker engine at {_settings.Endpoint} refused a request ({(int)e.StatusCode}): {e.ResponseBody?.Trim()}", e);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or TimeoutException
            || (e is TaskCanceledException && e.InnerException is TimeoutException))
        {
            throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {CloudName}: the docker engine at {_settings.Endpoint} did not answer: {e.Message}", e);
        }
    }

    private Task EngineAsync(Func<Task> call) => EngineAsync(async () =>
    {
        await call();
        return true;
    });

    private static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;

    /// <summary>Docker names allow letters, digits and <c>_.-</c>, starting with a letter or digit.</summary>
    private static string Sanitize(string name) => NameCharacters().Replace(name, "-");

    [GeneratedRegex("[^a-zA-Z0-9_.-]")]
    private static partial Regex NameCharacters();
}
