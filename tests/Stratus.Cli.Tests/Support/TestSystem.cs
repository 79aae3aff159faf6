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
        Data = data;
        ControlPlane = controlPlane;
        Gateway = gateway;
        AdminToken = File.ReadAllText(controlPlane.AdminTokenPath).Trim();
    }

    public string Data { get; }

    public ControlPlaneHost ControlPlane { get; }

    public GatewayHost Gateway { get; }

    public string AdminToken { get; }

    public static async Task<TestSystem> StartAsync()
    {
        var data = Path.Combine(Path.GetTempPath(), $"stratus-cli-{Guid.NewGuid():N}");
        var load = new Stratus.Core.Scaling.DeploymentLoad();
        var controlPlane = await ControlPlaneHost.StartAsync(
            new ControlPlaneOptions
            {
                DataDirectory = data,
                Port = 0,
                ReconcilePeriod = TimeSpan.FromMilliseconds(500),
                DrainPeriod = TimeSpan.FromMilliseconds(500),
                Replica = new ReplicaExecutable("dotnet", [Path.Combine(AppContext.BaseDirectory, "stratus.dll")]),
                Load = load,
            },
            _ => { });
        var gateway = await GatewayHost.StartAsync(new GatewayOptions { Port = 0, Load = load, SampleSink = controlPlane.Samples }, controlPlane.Routes, _ => { });
        return new TestSystem(data, controlPlane, gateway);
    }

    /// <summary>A command line against this system as an admin, with a config path that does not exist (so no user config leaks in).</summary>
    public Task<(int Exit, TestInteraction Output)> RunAsync(params string[] args) => RunWithTokenAsync(AdminToken, args);

    public Task<(int Exit, TestInteraction Output)> RunWithTokenAsync(string token, params string[] args) => CliRunner.RunAsync(
        [.. args, "--server", ControlPlane.Address.ToString(), "--gateway", Gateway.Address.ToString(), "--token", token, "--config", Path.Combine(Data, "no-config.json")]);

    /// <summary>
    /// Steady load: <paramref name="callers"/> callers sending the sample request to a deployment through the gateway
    /// until stopped (at most 10,000 each); a non-2xx answer or a failed connection counts as a failure.
    /// </summary>
    public async Task<(int Ok, int Failed)> LoadAsync(string deployment, int callers, CancellationToken stop)
    {
        var body = await File.ReadAllTextAsync(Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json"), CancellationToken.None);
        var ok = 0;
        var failed = 0;
        using var http = new HttpClient { BaseAddress = Gateway.Address, Timeout = TimeSpan.FromSeconds(30) };
        async Task Caller()
        {
            for (var i = 0; i < 10_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await http.PostAsync($"v2/models/{deployment}/infer", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), CancellationToken.None);
                    Interlocked.Increment(ref response.IsSuccessStatusCode ? ref ok : ref failed);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Caller()));
        return (ok, failed);
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
