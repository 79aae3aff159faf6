using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Docker.DotNet.Models;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Providers.Docker;
using Stratus.Core.Clouds;

namespace Stratus.Bench;

/// <summary>
/// Deploy-to-ready of one replica: a docker cloud's container against a local cloud's child process, in the same run,
/// alternating one launch of each so that the machine's state drifts equally on both. Each launch is timed from the
/// provider's <c>LaunchAsync</c> until it returns (the replica answered 200 on <c>/v2/health/ready</c>, which it does
/// only once warmed up), and the replica is stopped before the next. The first launch of each kind is reported
/// apart: the docker one fills the model's volume, and both warm the page cache.
/// </summary>
internal static class StartupBenchmark
{
    public static async Task<int> RunAsync(Dictionary<string, string> options)
    {
        var model = Path.GetFullPath(options["model"]);
        var endpoint = new Uri(options.GetValueOrDefault("docker", "unix:///var/run/docker.sock"));
        var launches = int.Parse(options.GetValueOrDefault("launches", "7"), CultureInfo.InvariantCulture);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(model)));
        var data = Directory.CreateTempSubdirectory("stratus-bench-startup-").FullName;
        var cluster = $"bench-{Guid.NewGuid():N}"[..18];
        var settings = new DockerCloudSettings(endpoint, null, null, "127.0.0.1");
        var cloud = new CloudSpec("bench", "docker", "bench-1", "us", new GeoLocation(0, 0), new Dictionary<string, int> { ["cpu-small"] = 1 }, new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m) }, TimeSpan.Zero);

        // This program's folder holds stratus.dll (the project references the CLI): the local cloud runs it, and the
        // image is built from it, so both start the same build.
        var image = await ReplicaImage.BuildAsync(Path.Combine(data, "image.tar"), AppContext.BaseDirectory, ReplicaImage.DefaultTag);
        using (var client = DockerEngines.Connect(endpoint, null))
        {
            await DockerEngines.LoadImageAsync(client, image.Archive, CancellationToken.None);
        }

        Console.WriteLine($"# image {image.Tag} {image.ImageId} ({image.LayerBytes / (1024.0 * 1024):F1} MiB); {launches} launches of each, alternating");
        await using var docker = new DockerCloudProvider(cloud with { Settings = settings }, settings, cluster, data);
        await using var local = new LocalCloudProvider(cloud with { Name = "bench-local", Provider = "local" }, data, new ReplicaExecutable("dotnet", [Path.Combine(AppContext.BaseDirectory, "stratus.dll")]));
        var timings = new Dictionary<string, List<double>> { ["docker"] = [], ["local"] = [] };
        try
        {
            for (var i = 0; i <= launches; i++)
            {
                foreach (var (kind, provider) in new (string, ICloudProvider)[] { ("docker", docker), ("local", local) })
                {
                    var launch = new ReplicaLaunch($"{kind}-{i}", "credit-risk", "1", model, sha256, "cpu-small");
                    var watch = Stopwatch.StartNew();
                    await provider.LaunchAsync(launch);
                    var seconds = watch.Elapsed.TotalSeconds;
                    await provider.StopAsync(launch.ReplicaId);
                    if (i == 0)
                    {
                        Console.WriteLine($"first {kind,-6} {seconds:F3} s (not counted)");
                    }
                    else
                    {
                        timings[kind].Add(seconds);
                    }
                }
            }
        }
        finally
        {
            await docker.StopAllAsync();
            await local.StopAllAsync();
            using var client = DockerEngines.Connect(endpoint, null);
            var filter = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{DockerCloudProvider.ClusterLabel}={cluster}"] = true } };
            foreach (var volume in (await client.Volumes.ListAsync(new VolumesListParameters { Filters = filter })).Volumes ?? [])
            {
                await client.Volumes.RemoveAsync(volume.Name, force: true);
            }

            Directory.Delete(data, recursive: true);
        }

        foreach (var (kind, seconds) in timings)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kind,-6} median {Median(seconds):F3} s  min {seconds.Min():F3} s  max {seconds.Max():F3} s  runs {string.Join(" ", seconds.Select(s => s.ToString("F3", CultureInfo.InvariantCulture)))}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"docker / local (medians) {Median(timings["docker"]) / Median(timings["local"]):F2}x"));
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
