using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Stratus.Client;

namespace Stratus.Cli.Tests.Support;

/// <summary>
/// Stratus as separate processes: one <c>stratus server</c> (the three default local clouds, replicas as its child
/// processes) and two <c>stratus gateway</c> processes in different regions. Each gateway is given a server that is
/// down first and the real one second, so it follows the route table from the second and reports its load to both.
/// </summary>
public sealed class ProcessSystem : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-processes-{Guid.NewGuid():N}");
    private readonly List<Process> _processes = [];
    private readonly List<Task> _drains = [];

    public static readonly IReadOnlyList<string> Regions = ["us-east", "eu-west"];

    public Uri Server { get; private set; } = null!;

    public IReadOnlyList<Uri> Gateways { get; private set; } = [];

    public StratusClient Client { get; private set; } = null!;

    /// <summary>The server's admin token.</summary>
    public string Token { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var server = Start("server", "--data-dir", _data, "--port", "0");
        Server = await ReadyAtAsync(server);
        var token = Token = (await File.ReadAllTextAsync(Path.Combine(_data, "admin.token"))).Trim();
        Client = new StratusClient(Server, token);

        // A port nothing listens on: the server that is down.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var down = new Uri($"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/");
        probe.Stop();

        var config = Path.Combine(_data, "no-config.json");
        var gateways = Regions.Select(region => Start("gateway", "--port", "0", "--region", region, "--server", $"{down},{Server}", "--token", token, "--config", config)).ToList();
        Gateways = await Task.WhenAll(gateways.Select(ReadyAtAsync));
    }

    private Process Start(params string[] arguments)
    {
        var process = ServerProcess.Run(arguments);
        _processes.Add(process);
        _drains.Add(process.StandardError.ReadToEndAsync());
        return process;
    }

    /// <summary>The address a process prints once it listens; its output is drained from then on, so it never blocks on a full pipe.</summary>
    private async Task<Uri> ReadyAtAsync(Process process)
    {
        var address = await ServerProcess.ReadyAtAsync(process);
        _drains.Add(process.StandardOutput.ReadToEndAsync());
        return address;
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        foreach (var process in Enumerable.Reverse(_processes))
        {
            try
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
                // It had ended.
            }

            process.Dispose();
        }

        await Task.WhenAll(_drains);
        Stratus.Testing.ChildProcesses.KillMatching(_data);
        Directory.Delete(_data, recursive: true);
    }
}
