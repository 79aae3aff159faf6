using System.Net.Http.Headers;
using Stratus.ControlPlane.Hosting;

namespace Stratus.ControlPlane.Tests.Hosting;

/// <summary>The data directory, the database and the model and cloud folders are the owner's only, read back from the file system.</summary>
public sealed class DataFileModesTests : IDisposable
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"stratus-modes-{Guid.NewGuid():N}");

    public void Dispose()
    {
        Stratus.Testing.ChildProcesses.KillMatching(_root);
        Directory.Delete(_root, recursive: true);
    }

    private static Task<ControlPlaneHost> StartAsync(string data) => ControlPlaneHost.StartAsync(
        new ControlPlaneOptions { DataDirectory = data, Port = 0, Replica = Support.TestReplicas.Executable, ReconcilePeriod = TimeSpan.FromMinutes(10) },
        _ => { });

    [Fact]
    public async Task StartAsync_FreshDataDirectory_IsOwnerOnlyWithEverythingInIt()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var data = Path.Combine(_root, "data");
        await using (var host = await StartAsync(data))
        {
            using var client = new HttpClient { BaseAddress = host.Address };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(host.AdminTokenPath)).Trim());
            using var model = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")));
            using var pushed = await client.PostAsync("api/v1/models/credit-risk", model);
            Assert.True(pushed.IsSuccessStatusCode, await pushed.Content.ReadAsStringAsync());

            Assert.Equal(Folder, File.GetUnixFileMode(data));
            Assert.Equal(OwnerFile, File.GetUnixFileMode(Path.Combine(data, "stratus.db")));
            Assert.Equal(OwnerFile, File.GetUnixFileMode(Path.Combine(data, "stratus.db-wal")));
            Assert.Equal(OwnerFile, File.GetUnixFileMode(Path.Combine(data, "stratus.db-shm")));
            Assert.Equal(OwnerFile, File.GetUnixFileMode(host.AdminTokenPath));
            Assert.Equal(Folder, File.GetUnixFileMode(Path.Combine(data, "models")));
            Assert.Single(Directory.GetFiles(Path.Combine(data, "models", "sha256"), "*", SearchOption.AllDirectories));
            foreach (var cloud in Directory.GetDirectories(Path.Combine(data, "clouds")))
            {
                Assert.Equal(Folder, File.GetUnixFileMode(Path.Combine(cloud, "artifacts")));
                Assert.Equal(Folder, File.GetUnixFileMode(Path.Combine(cloud, "replicas")));
            }
        }
    }

    [Fact]
    public async Task StartAsync_DataDirectoryAnOlderVersionLeftOpen_IsClosedToOthers()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var data = Path.Combine(_root, "old");
        var open = Folder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        Directory.CreateDirectory(data, open);
        await using (await StartAsync(data))
        {
        }

        var database = Path.Combine(data, "stratus.db");
        File.SetUnixFileMode(data, open);
        File.SetUnixFileMode(database, OwnerFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using (await StartAsync(data))
        {
            Assert.Equal(Folder, File.GetUnixFileMode(data));
            Assert.Equal(OwnerFile, File.GetUnixFileMode(database));
        }
    }
}
