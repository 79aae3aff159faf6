using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using Stratus.ControlPlane.Providers.Docker;

namespace Stratus.Testing;

/// <summary>
/// A real Docker Engine for the tests: the one <c>STRATUS_TEST_DOCKER</c> names (<c>unix:///tmp/dk/docker.sock</c>),
/// else one of its own, started as a child process (<c>dockerd</c> with no bridge and no iptables, its data root,
/// exec root, pid file and socket in a temporary folder; root only) and stopped afterwards. The replica image is
/// built once per run from the test output folder (which holds stratus.dll) and loaded under this build's default
/// tag. Compiled into the test projects that set <c>NeedsDocker</c>. Tests remove what they made through
/// <see cref="RemoveClusterAsync"/>: only containers and volumes labelled with their own cluster id.
/// </summary>
public sealed class DockerEngine : IAsyncLifetime
{
    public const string Collection = "Docker";

    public const string Variable = "STRATUS_TEST_DOCKER";

    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);

    private Process? _daemon;
    private string? _folder;
    private string? _archive;

    public Uri Endpoint { get; private set; } = null!;

    public DockerClient Client { get; private set; } = null!;

    /// <summary>The image the tests run, as built for this run.</summary>
    public ReplicaImageBuild Image { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given)
        {
            Endpoint = new Uri(given);
        }
        else
        {
            await StartOwnDaemonAsync();
        }

        Client = DockerEngines.Connect(Endpoint, tls: null);
        try
        {
            await Client.System.PingAsync();
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException($"the Docker tests need an engine: {Variable}={Endpoint} does not answer ({e.Message})", e);
        }

        _archive = Path.Combine(Path.GetTempPath(), $"stratus-test-image-{Guid.NewGuid():N}.tar");
        Image = await ReplicaImage.BuildAsync(_archive, AppContext.BaseDirectory, ReplicaImage.DefaultTag);
        await DockerEngines.LoadImageAsync(Client, _archive, CancellationToken.None);
    }

    /// <summary>Removes every container and volume labelled with <paramref name="clusterId"/>, and nothing else.</summary>
    public async Task RemoveClusterAsync(string clusterId)
    {
        var filter = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{DockerCloudProvider.ClusterLabel}={clusterId}"] = true } };
        foreach (var container in await Client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filter }))
        {
            await Client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        }

        foreach (var volume in (await Client.Volumes.ListAsync(new VolumesListParameters { Filters = filter })).Volumes ?? [])
        {
            await Client.Volumes.RemoveAsync(volume.Name, force: true);
        }
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_archive is not null)
        {
            File.Delete(_archive);
            File.Delete(_archive + ".json");
        }

        if (_daemon is not null)
        {
            // SIGTERM: dockerd stops its containers and the containerd it started, then exits.
            using (var term = Process.Start("kill", ["-TERM", _daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            if (!_daemon.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                _daemon.Kill(entireProcessTree: true);
            }

            _daemon.Dispose();
        }

        if (_folder is not null)
        {
            // The daemon leaves its network namespace mounted under the exec root (and, if killed, overlay mounts).
            foreach (var mount in File.ReadLines("/proc/mounts").Select(line => line.Split(' ')[1]).Where(m => m.StartsWith(_folder + "/", StringComparison.Ordinal)).OrderDescending())
            {
                using var umount = Process.Start("umount", ["-l", mount]);
                await umount.WaitForExitAsync();
            }

            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A mount the daemon left behind; the folder is under the temporary directory.
            }
        }
    }

    private async Task StartOwnDaemonAsync()
    {
        var dockerd = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "dockerd")).FirstOrDefault(File.Exists);
        if (dockerd is null || Environment.UserName != "root")
        {
            throw new InvalidOperationException(
                $"the Docker tests need an engine: set {Variable} to one (unix:///path/to/docker.sock), or run them as root with dockerd on PATH (Debian's docker.io package) so they start their own");
        }

        // Short: the exec root holds unix sockets, whose paths are limited to 107 bytes.
        _folder = Path.Combine("/tmp", $"stratus-dk-{Guid.NewGuid():N}"[..20]);
        Directory.CreateDirectory(_folder);
        var socket = Path.Combine(_folder, "docker.sock");
        var start = new ProcessStartInfo(dockerd) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "--bridge=none", "--iptables=false", "--ip6tables=false", "--data-root", Path.Combine(_folder, "data"), "--exec-root", Path.Combine(_folder, "exec"),
            "--pidfile", Path.Combine(_folder, "docker.pid"), "--host", "unix://" + socket,
        })
        {
            start.ArgumentList.Add(argument);
        }

        _daemon = Process.Start(start)!;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _daemon.OutputDataReceived += (_, e) => log.Enqueue(e.Data ?? string.Empty);
        _daemon.ErrorDataReceived += (_, e) => log.Enqueue(e.Data ?? string.Empty);
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        Endpoint = new Uri("unix://" + socket);
        using var client = DockerEngines.Connect(Endpoint, tls: null);
        await Eventually.HoldsAsync(
            async () =>
            {
                if (_daemon.HasExited)
                {
                    throw new InvalidOperationException($"dockerd exited with code {_daemon.ExitCode}: {string.Join('\n', log.TakeLast(20))}");
                }

                try
                {
                    await client.System.PingAsync();
                    return true;
                }
                catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException)
                {
                    return false;
                }
            },
            $"dockerd answers on {socket}",
            (int)StartBound.TotalSeconds);
    }
}

/// <summary>The tests that share the one <see cref="DockerEngine"/>.</summary>
[CollectionDefinition(DockerEngine.Collection)]
public sealed class DockerCollection : ICollectionFixture<DockerEngine>;
