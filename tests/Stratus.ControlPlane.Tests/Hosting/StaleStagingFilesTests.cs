using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Stratus.ControlPlane.Hosting;

namespace Stratus.ControlPlane.Tests.Hosting;

/// <summary>Staging files left by a crash are removed at start; ones still being written, and other files, are kept.</summary>
public sealed class StaleStagingFilesTests : IDisposable
{
    private static readonly DateTime Started = DateTime.UtcNow;
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-part-{Guid.NewGuid():N}");

    public void Dispose()
    {
        Stratus.Testing.ChildProcesses.KillMatching(_data);
        Directory.Delete(_data, recursive: true);
    }

    /// <summary>A file as a crash leaves it: written before the process started.</summary>
    private string Plant(string relative, int bytes = 1000, bool old = true)
    {
        var path = Path.Combine(_data, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, new byte[bytes]);
        if (old)
        {
            File.SetLastWriteTimeUtc(path, Started.AddHours(-1));
        }

        return path;
    }

    [Fact]
    public void Remove_OldUnlockedPartFiles_AreRemovedEverywhereUnderTheFolders()
    {
        var staging = Plant("models/staging/0123abcd.part");
        var artifact = Plant("clouds/local-eu/artifacts/ab12.onnx.9f8e.part");
        var hidden = Plant("models/.hidden.part");
        var blobs = Path.Combine(_data, "elsewhere");
        var outside = Plant("elsewhere/staging/77.part");

        var removed = StaleStagingFiles.Remove([Path.Combine(_data, "models"), Path.Combine(_data, "clouds"), blobs, null, ""], Started, NullLogger.Instance);

        Assert.Equal(new[] { staging, artifact, hidden, outside }.Order(), removed.Order());
        Assert.All(removed, file => Assert.False(File.Exists(file)));
    }

    [Fact]
    public void Remove_FilesBeingWrittenAndOtherFiles_AreKept()
    {
        var recent = Plant("models/staging/recent.part", old: false);
        var locked = Plant("models/staging/locked.part");
        var model = Plant("models/sha256/ab/abcdef");
        var record = Plant("clouds/local-eu/replicas/r1.json");
        var notQuite = Plant("clouds/local-eu/artifacts/x.part.onnx");

        IReadOnlyList<string> removed;
        using (new FileStream(locked, FileMode.Open, FileAccess.Write, FileShare.None))
        {
            removed = StaleStagingFiles.Remove([_data], Started, NullLogger.Instance);
        }

        Assert.Empty(removed);
        Assert.All(new[] { recent, locked, model, record, notQuite }, file => Assert.True(File.Exists(file), file));
    }

    [Fact]
    public async Task StartAsync_WithPartFilesPlantedBeforeStart_RemovesAndLogsThem()
    {
        var staging = Plant("models/staging/deadbeef.part", bytes: 4096);
        var artifact = Plant("clouds/local-eu/artifacts/ab12.onnx.9f8e.part");
        var blobs = Path.Combine(_data, "shared-blobs");
        var shared = Plant("shared-blobs/staging/cafe.part");
        var log = new Support.ReplicaLog();

        await using (await ControlPlaneHost.StartAsync(
            new ControlPlaneOptions { DataDirectory = _data, Blobs = blobs, Port = 0, Replica = Support.TestReplicas.Executable, ReconcilePeriod = TimeSpan.FromMinutes(10) },
            logging => logging.AddProvider(log)))
        {
        }

        Assert.All(new[] { staging, artifact, shared }, file => Assert.False(File.Exists(file), file));
        var lines = log.Tail(1000);
        Assert.Contains($"Removed the staging file {staging} (4096 bytes)", lines, StringComparison.Ordinal);
        Assert.Contains($"Removed the staging file {artifact} (1000 bytes)", lines, StringComparison.Ordinal);
        Assert.Contains($"Removed the staging file {shared} (1000 bytes)", lines, StringComparison.Ordinal);
    }
}
