using System.Net;
using System.Net.Sockets;
using Stratus.Client;

namespace Stratus.Cli.Tests.Support;

/// <summary>
/// Stratus as separate processes: one <c>stratus server</c> (the three default local clouds, replicas as its child
/// processes) and two <c>stratus gateway</c> processes in different regions. Each gateway is given a server that is
/// down first and the real one second, so it follows the route table from the second and reports its load to both.
/// Everything runs over TLS from the platform CA, gateways with their own certificates as an operator would issue them.
/// </summary>
public sealed class ProcessSystem : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-processes-{Guid.NewGuid():N}");
    private readonly List<StratusProcess> _processes = [];

    public static readonly IReadOnlyList<string> Regions = ["us-east", "eu-west"];

    public Uri Server { get; private set; } = null!;

    public IReadOnlyList<Uri> Gateways { get; private set; } = [];

    public StratusClient Client { get; private set; } = null!;

    /// <summary>The platform CA the server and the gateways use, which the test's clients trust.</summary>
    public ProcessTls Tls { get; private set; } = null!;

    /// <summary>The server's admin token.</summary>
    public string Token { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        Tls = ProcessTls.ForDataDirectory(_data);
        Server = (await StartAsync("server", "--data-dir", _data, "--port", "0")).Address;
        var token = Token = (await File.ReadAllTextAsync(Path.Combine(_data, "admin.token"))).Trim();
        Client = new StratusClient(Server, token, Tls.Trust.CreateHandler());

        // A port nothing listens on: the server that is down.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var down = new Uri($"https://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/");
        probe.Stop();

        var config = Path.Combine(_data, "no-config.json");
        var gateways = await Task.WhenAll(Regions.Select(region => StartAsync("gateway", "--port", "0", "--region", region, "--server", $"{down},{Server}", "--token", token, "--config", config, "--tls-dir", Tls.IssueGateway(region))));
        Gateways = [.. gateways.Select(g => g.Address)];
    }

    private async Task<StratusProcess> StartAsync(params string[] arguments)
    {
        var process = await StratusProcess.StartAsync(arguments);
        lock (_processes)
        {
            _processes.Add(process);
        }

        return process;
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }

        Stratus.Testing.ChildProcesses.KillMatching(_data);
        Directory.Delete(_data, recursive: true);
    }
}
