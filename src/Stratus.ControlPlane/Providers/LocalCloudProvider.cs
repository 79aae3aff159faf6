using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Stratus.ControlPlane.Store;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Providers;

/// <summary>How to start <c>stratus replica</c>: the executable and any arguments before the verb.</summary>
public sealed record ReplicaExecutable(string FileName, IReadOnlyList<string> PrefixArguments)
{
    /// <summary>This very program: the <c>stratus</c> apphost, or <c>dotnet stratus.dll</c> when started that way.</summary>
    public static ReplicaExecutable Current()
    {
        var process = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(process) == "dotnet" && System.Reflection.Assembly.GetEntryAssembly()?.Location is { Length: > 0 } entry
            ? new(process, [entry])
            : new(process, []);
    }
}

/// <summary>
/// A cloud on this machine: each replica is a child <c>stratus replica</c> process on a loopback port. The cloud has
/// its own artifact folder, and every model is copied there and its SHA-256 checked before a replica may load it.
/// Each replica writes a ready file with its process id and endpoint. Those files, not this object's memory, say what
/// runs, so a control plane that was killed and restarted finds its replicas again. Replicas redirect their output
/// to a log file rather than a pipe, so they outlive the control plane without writing into a closed pipe.
/// </summary>
public sealed partial class LocalCloudProvider : ICloudProvider, IOutageEmulation
{
    private const int SigTerm = 15;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private readonly CloudSpec _cloud;
    private readonly ReplicaExecutable _executable;
    private readonly string _artifacts;
    private readonly string _replicas;
    private readonly EmulatedCloudState _emulation;
    private readonly SemaphoreSlim _launchGate = new(1, 1);

    public LocalCloudProvider(CloudSpec cloud, string dataDirectory, ReplicaExecutable executable)
    {
        _cloud = cloud;
        _executable = executable;
        var root = Path.Combine(dataDirectory, "clouds", cloud.Name);
        _artifacts = Path.Combine(root, "artifacts");
        _replicas = Path.Combine(root, "replicas");
        _emulation = new EmulatedCloudState(cloud, root);
        OwnerOnly.CreateFolder(_artifacts);
        OwnerOnly.CreateFolder(_replicas);
    }

    public string CloudName => _cloud.Name;

    /// <summary>
    /// While out, the cloud's replicas are gone and launches are refused (<c>stratus cloud outage</c>). The state is a
    /// marker file in the cloud's folder, so it outlasts a control-plane restart.
    /// </summary>
    public bool IsOut => _emulation.IsOut;

    /// <summary>Where a model's copy lives in this cloud (exposed so tests can corrupt it as a faulty copy would).</summary>
    public string ArtifactPathOf(string sha256) => Path.Combine(_artifacts, sha256 + ".onnx");

    public async Task<ReplicaHandle> LaunchAsync(ReplicaLaunch launch, CancellationToken cancellationToken = default)
    {
        // The capacity check and the replica's record happen one launch at a time per cloud, so two launches cannot
        // both take the last unit of capacity; starting the process and waiting for it are not serialised, so one
        // slow or failing replica never holds up the next launch in the same cloud.
        string artifact;
        await _launchGate.WaitAsync(cancellationToken);
        try
        {
            var capacity = _emulation.CapacityForLaunch(launch.Shape);
            _emulation.EnsureRoom(launch.Shape, capacity, (await ListAsync(cancellationToken)).Count(r => r.Shape == launch.Shape) + Reserved(launch.Shape));

            artifact = await CopyArtifactAsync(launch, cancellationToken);

            // Recorded before the process exists, so the capacity of the launches after this one counts it.
            WriteRecord(RecordPath(launch.ReplicaId), new ReplicaRecord(launch.ReplicaId, launch.Shape, 0, null));
        }
        finally
        {
            _launchGate.Release();
        }

        try
        {
            return await StartAsync(launch, artifact, cancellationToken);
        }
        catch (ProvisioningException)
        {
            // It exited or was killed: its place is free again.
            File.Delete(RecordPath(launch.ReplicaId));
            throw;
        }
    }

    private string RecordPath(string replicaId) => Path.Combine(_replicas, replicaId + ".json");

    /// <summary>Launches recorded whose process has not started yet: they hold capacity too.</summary>
    private int Reserved(string shape) => Directory.GetFiles(_replicas, "*.json")
        .Select(ReadRecord)
        .Count(r => r is { Pid: 0, Endpoint: null } && r.Shape == shape);

    /// <summary>SIGTERM, so the replica stops taking requests and finishes those it holds; SIGKILL after the grace period.</summary>
    public Task StopAsync(string replicaId, CancellationToken cancellationToken = default) => StopAsync(replicaId, StopGrace, cancellationToken);

    private async Task StopAsync(string replicaId, TimeSpan grace, CancellationToken cancellationToken)
    {
        var record = Path.Combine(_replicas, replicaId + ".json");
        if (ReadRecord(record) is { Pid: not 0 } state && TryGetProcess(state) is { } process)
        {
            using (process)
            {
                if (grace > TimeSpan.Zero && Kill(process.Id, SigTerm) == 0)
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(grace);
                    try
                    {
                        await process.WaitForExitAsync(timeout.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // It did not finish in time: killed below.
                    }
                }

                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync(cancellationToken);
                }
            }
        }

        File.Delete(record);
        File.Delete(Path.Combine(_replicas, replicaId + ".warmup.json"));
    }

    public Task<IReadOnlyList<ReplicaHandle>> ListAsync(CancellationToken cancellationToken = default)
    {
        var handles = new List<ReplicaHandle>();
        foreach (var record in Directory.GetFiles(_replicas, "*.json"))
        {
            var state = ReadRecord(record);
            if (state is { Endpoint: null })
            {
                // Launched but not known ready: its ready file, once written, completes the record.
                state = Promote(record, state) ?? state;
            }

            var process = state is null || state.Pid == 0 ? null : TryGetProcess(state);
            if (state is { Endpoint: { } endpoint } && process is not null)
            {
                handles.Add(new ReplicaHandle(state.ReplicaId, CloudName, state.Shape, new Uri(endpoint)));
            }
            else if (state is { Endpoint: null } && process is not null)
            {
                // Its process runs but it is not ready yet: listed as starting.
                handles.Add(new ReplicaHandle(state.ReplicaId, CloudName, state.Shape, null));
            }
            else if (state is { Endpoint: null } && File.GetLastWriteTimeUtc(record) > DateTime.UtcNow - ReadyTimeout)
            {
                // Recorded a moment before its process starts: kept, not yet listed.
            }
            else
            {
                // The process is gone (crashed, killed, machine restarted) or never came up: its record goes with it.
                File.Delete(record);
            }

            process?.Dispose();
        }

        return Task.FromResult<IReadOnlyList<ReplicaHandle>>(handles);
    }

    /// <summary>Stops every replica of this cloud, including any still starting, each gracefully and all at once.</summary>
    public Task StopAllAsync(CancellationToken cancellationToken = default) =>
        Task.WhenAll(Directory.GetFiles(_replicas, "*.json").Select(record => StopAsync(Path.GetFileNameWithoutExtension(record), cancellationToken)));

    /// <summary>Takes the cloud down: every replica is killed at once, as in a real outage, and launches are refused until <see cref="Restore"/>.</summary>
    public async Task OutageAsync(CancellationToken cancellationToken = default)
    {
        await _emulation.MarkOutAsync(cancellationToken);
        foreach (var replica in await ListAsync(cancellationToken))
        {
            await StopAsync(replica.ReplicaId, TimeSpan.Zero, cancellationToken);
        }
    }

    public void Restore() => _emulation.Restore();

    public string? Refusing => _emulation.Refusing;

    public void Refuse(ProvisioningScope scope, string? shape) => _emulation.Refuse(scope, shape);

    public void Accept() => _emulation.Accept();

    public IReadOnlyList<Stratus.Inference.Server.EmulatedFault> Faults => _emulation.Faults;

    public void Fault(string deployment, int version, double errorRate) => _emulation.Fault(deployment, version, errorRate);

    public void ClearFaults() => _emulation.ClearFaults();

    private async Task<string> CopyArtifactAsync(ReplicaLaunch launch, CancellationToken cancellationToken)
    {
        var target = ArtifactPathOf(launch.Sha256);
        if (!File.Exists(target))
        {
            var temporary = target + $".{Guid.NewGuid():N}.part";
            File.Copy(launch.ArtifactPath, temporary);
            File.Move(temporary, target, overwrite: true);
        }

        // Checked on every launch, not only after a copy: a copy damaged later must not be served either.
        await using var stream = File.OpenRead(target);
        var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
        if (actual != launch.Sha256)
        {
            stream.Close();
            File.Delete(target);
            throw new ProvisioningException(
                ProvisioningScope.Cloud,
                $"the copy of {launch.ModelName} version {launch.ModelVersion} in cloud {CloudName} has SHA-256 {actual}, expected {launch.Sha256}; it was deleted");
        }

        return target;
    }

    private async Task<ReplicaHandle> StartAsync(ReplicaLaunch launch, string artifact, CancellationToken cancellationToken)
    {
        var ready = Path.Combine(_replicas, launch.ReplicaId + ".ready");
        var log = Path.Combine(_replicas, launch.ReplicaId + ".log");
        File.Delete(ready);
        string[] arguments =
        [
            .. _executable.PrefixArguments, "replica", "--model", artifact, "--name", launch.ServedName ?? launch.ModelName, "--version", launch.ModelVersion,
            "--port", "0", "--ready-file", ready, "--emulated-latency-ms", ((int)_cloud.EmulatedLatency.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--fault-file", _emulation.FaultFile,
        ];
        if (launch.WarmUpRequests.Count > 0)
        {
            var warmUp = Path.Combine(_replicas, launch.ReplicaId + ".warmup.json");
            File.WriteAllText(warmUp, "[" + string.Join(",", launch.WarmUpRequests) + "]");
            arguments = [.. arguments, "--warm-up-file", warmUp];
        }

        // exec through the shell only to point stdout and stderr at the log file.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$STRATUS_REPLICA_LOG\" 2>&1 </dev/null");
        info.ArgumentList.Add(_executable.FileName);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["STRATUS_REPLICA_LOG"] = log;

        // Recorded before the process exists (by LaunchAsync), and again with its pid once it does (the shell execs,
        // so the pid stays): should this control plane die at any point, a later listing still finds the replica
        // when it comes up (its ready file names its pid), rather than leaving it running unowned.
        var record = RecordPath(launch.ReplicaId);
        using var process = Process.Start(info) ?? throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {CloudName} could not start a replica process");
        WriteRecord(record, new ReplicaRecord(launch.ReplicaId, launch.Shape, process.Id, null));
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (!File.Exists(ready))
        {
            // Exiting or never coming up is what the model or its deployment did (it failed to load, crashed at start):
            // that deployment backs off here, other deployments still launch in this cloud.
            if (process.HasExited)
            {
                throw new ProvisioningException(ProvisioningScope.Deployment, $"replica {launch.ReplicaId} exited with code {process.ExitCode}: {Tail(log)}");
            }

            if (DateTime.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                throw new ProvisioningException(ProvisioningScope.Deployment, $"replica {launch.ReplicaId} was not ready within {ReadyTimeout.TotalSeconds} s");
            }

            // The replica signals readiness only through its file; poll it briefly.
            await Task.WhenAny(process.WaitForExitAsync(cancellationToken), Task.Delay(50, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }

        var state = Promote(record, ReadRecord(record)!)!;
        return new ReplicaHandle(launch.ReplicaId, CloudName, launch.Shape, new Uri(state.Endpoint!));
    }

    public async Task<string?> LogsAsync(string replicaId, int lines, CancellationToken cancellationToken = default)
    {
        var log = Path.Combine(_replicas, replicaId + ".log");
        if (!File.Exists(RecordPath(replicaId)) && !File.Exists(log))
        {
            return null;
        }

        return File.Exists(log) ? string.Join('\n', (await File.ReadAllLinesAsync(log, cancellationToken)).TakeLast(lines)) : string.Empty;
    }

    public ValueTask DisposeAsync()
    {
        _launchGate.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Completes a record from the replica's ready file once it exists; null while the replica is still starting.</summary>
    private static ReplicaRecord? Promote(string record, ReplicaRecord state)
    {
        var ready = Path.ChangeExtension(record, ".ready");
        if (!File.Exists(ready))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(ready));
        var promoted = state with
        {
            Pid = document.RootElement.GetProperty("pid").GetInt32(),
            Endpoint = document.RootElement.GetProperty("endpoint").GetString(),
        };
        WriteRecord(record, promoted);
        File.Delete(ready);
        return promoted;
    }

    private static void WriteRecord(string path, ReplicaRecord state)
    {
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(state));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static string Tail(string log) => File.Exists(log) ? string.Join(" | ", File.ReadLines(log).TakeLast(3)) : "(no output)";

    private static ReplicaRecord? ReadRecord(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ReplicaRecord>(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The replica's process if it still runs; a reused process id belonging to something else does not count.</summary>
    private static Process? TryGetProcess(ReplicaRecord state)
    {
        try
        {
            var process = Process.GetProcessById(state.Pid);
            var commandLine = File.Exists($"/proc/{state.Pid}/cmdline") ? File.ReadAllText($"/proc/{state.Pid}/cmdline") : string.Empty;
            if (!process.HasExited && commandLine.Contains(state.ReplicaId, StringComparison.Ordinal))
            {
                return process;
            }

            process.Dispose();
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException)
        {
            // No such process, or it ended while we looked.
        }

        return null;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private sealed record ReplicaRecord(string ReplicaId, string Shape, int Pid, string? Endpoint);
}
