using Stratus.ControlPlane.Hosting;
using Stratus.ControlPlane.Providers;
using Stratus.Gateway;

namespace Stratus.Cli.Tests.Support;

/// <summary>
/// What `stratus up` runs, in this process: the control plane over a temporary data directory with the three default
/// local clouds of real replica processes (`dotnet stratus.dll replica`), and the gateway following its route table.
/// </summary>
internal sealed class TestSystem : IAsyncDisposable
{
    private TestSystem(string data, ControlPlaneHost controlPlane, GatewayHost gateway)
    {
        Load = controlPlane.Loads;
        Data = data;
        ControlPlane = controlPlane;
        Gateway = gateway;
        AdminToken = File.ReadAllText(controlPlane.AdminTokenPath).Trim();
    }

    public string Data { get; }

    public ControlPlaneHost ControlPlane { get; }

    public GatewayHost Gateway { get; }

    public string AdminToken { get; }

    /// <summary>What the gateway reported, as the autoscaler and the rollout controller read it.</summary>
    public Stratus.Core.Scaling.ILoadView Load { get; }

    /// <param name="cloudsYaml">A clouds.yaml of the test's own; null for the three default local clouds.</param>
    public static async Task<TestSystem> StartAsync(string? cloudsYaml = null)
    {
        var data = Path.Combine(Path.GetTempPath(), $"stratus-cli-{Guid.NewGuid():N}");
        string? clouds = null;
        if (cloudsYaml is not null)
        {
            Directory.CreateDirectory(data);
            clouds = Path.Combine(data, "clouds.yaml");
            await File.WriteAllTextAsync(clouds, cloudsYaml);
        }

        var controlPlane = await ControlPlaneHost.StartAsync(
            new ControlPlaneOptions
            {
                DataDirectory = data,
                CloudsFile = clouds,
                Port = 0,
                ReconcilePeriod = TimeSpan.FromMilliseconds(500),
                // Long enough that a gateway on a loaded machine has the table without a draining replica before it stops.
                DrainPeriod = TimeSpan.FromMilliseconds(1500),
                Replica = new ReplicaExecutable("dotnet", [Path.Combine(AppContext.BaseDirectory, "stratus.dll")]),
            },
            _ => { });
        var gateway = await GatewayHost.StartAsync(new GatewayOptions { Port = 0, LoadSinks = [controlPlane.Loads], SampleSink = controlPlane.Samples }, controlPlane.Routes, _ => { });
        return new TestSystem(data, controlPlane, gateway);
    }

    /// <summary>A command line against this system as an admin, with a config path that does not exist (so no user config leaks in).</summary>
    public Task<(int Exit, TestInteraction Output)> RunAsync(params string[] args) => RunWithTokenAsync(AdminToken, args);

    public Task<(int Exit, TestInteraction Output)> RunWithTokenAsync(string token, params string[] args) => CliRunner.RunAsync(
        [.. args, "--server", ControlPlane.Address.ToString(), "--gateway", Gateway.Address.ToString(), "--token", token, "--config", Path.Combine(Data, "no-config.json")]);

    /// <summary>Waits until the gateway itself answers the deployment (it follows the route table a moment after the control plane has it).</summary>
    public Task WaitForGatewayAsync(string deployment) => WaitForGatewayAsync(Gateway.Address, deployment);

    /// <summary>Waits until the gateway at an address answers the deployment.</summary>
    public static async Task WaitForGatewayAsync(Uri gateway, string deployment, Stratus.Core.Tls.ClientTls? tls = null)
    {
        var body = await File.ReadAllTextAsync(Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json"));
        using var http = new HttpClient(tls?.CreateHandler() ?? new SocketsHttpHandler()) { BaseAddress = gateway };
        await Stratus.Testing.Eventually.HoldsAsync(
            async () =>
            {
                using var response = await http.PostAsync($"v2/models/{deployment}/infer", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
                return response.IsSuccessStatusCode;
            },
            $"the gateway answers {deployment}",
            seconds: 30);
    }

    /// <summary>
    /// Steady load: <paramref name="callers"/> callers sending the sample request to a deployment through the gateway
    /// until stopped (at most 10,000 each); a non-2xx answer or a failed connection counts as a failure.
    /// </summary>
    public async Task<(int Ok, int Failed)> LoadAsync(string deployment, int callers, CancellationToken stop)
    {
        var result = await MeasuredLoadAsync(deployment, callers, stop);
        return (result.Ok, result.Failed);
    }

    /// <summary>The same steady load, also counting which model version answered and how long the callers waited at most.</summary>
    public Task<LoadResult> MeasuredLoadAsync(string deployment, int callers, CancellationToken stop) => MeasuredLoadAsync(Gateway.Address, deployment, callers, stop);

    /// <summary>The same through the gateway at an address.</summary>
    public static async Task<LoadResult> MeasuredLoadAsync(Uri gateway, string deployment, int callers, CancellationToken stop, Stratus.Core.Tls.ClientTls? tls = null)
    {
        var body = await File.ReadAllTextAsync(Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json"), CancellationToken.None);
        var ok = 0;
        var failed = 0;
        var versions = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var slowest = TimeSpan.Zero;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var http = new HttpClient(tls?.CreateHandler() ?? new SocketsHttpHandler()) { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
        async Task Caller()
        {
            for (var begun = System.Diagnostics.Stopwatch.GetTimestamp(); Stratus.Testing.LoadBound.GoesOn(begun, stop);)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.PostAsync($"v2/models/{deployment}/infer", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), CancellationToken.None);
                    var answer = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    Interlocked.Increment(ref response.IsSuccessStatusCode ? ref ok : ref failed);
                    if (!response.IsSuccessStatusCode && failures.Count < 5)
                    {
                        failures.Add($"{(int)response.StatusCode} {answer}");
                    }

                    if (response.IsSuccessStatusCode && System.Text.Json.JsonDocument.Parse(answer).RootElement.TryGetProperty("model_version", out var version))
                    {
                        versions.AddOrUpdate(version.GetString() ?? string.Empty, 1, (_, n) => n + 1);
                    }
                }
                catch (HttpRequestException e)
                {
                    Interlocked.Increment(ref failed);
                    failures.Add(e.Message);
                }

                var waited = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                lock (versions)
                {
                    slowest = waited > slowest ? waited : slowest;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Caller()));
        return new LoadResult(ok, failed, versions.ToDictionary(), slowest, [.. failures]);
    }

    /// <summary>Replica processes of this system (their artifact path names the data directory).</summary>
    public int RunningReplicas() => Stratus.Testing.ChildProcesses.Matching(c => c.Contains(Data, StringComparison.Ordinal) && c.Contains(" replica ", StringComparison.Ordinal)).Count;

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await ControlPlane.DisposeAsync();
        Stratus.Testing.ChildProcesses.KillMatching(Data);
        Directory.Delete(Data, recursive: true);
    }
}

/// <summary>What a steady load saw: answers, failures (the first few of them), the model versions that answered, and the longest wait.</summary>
internal sealed record LoadResult(int Ok, int Failed, IReadOnlyDictionary<string, int> Versions, TimeSpan Slowest, IReadOnlyList<string> Failures);
