using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Client;
using Stratus.ControlPlane.Clouds;
using Stratus.ControlPlane.Hosting;
using Stratus.Core.Models;
using Stratus.Core.Placement;
using Stratus.Core.Tls;
using Stratus.Gateway;

namespace Stratus.Cli.Commands;

/// <summary>
/// <c>stratus up</c>: the whole system in one process for one machine: the control plane (API, SQLite store,
/// registry, reconciler), the gateway, and the local clouds of <c>clouds.yaml</c> (three by default). It writes the
/// client config so the other verbs need no flags. <c>--demo</c> then does what a newcomer would: pushes the sample
/// model, deploys it to three clouds, and sends a request through the gateway. Ctrl+C stops it and its replicas; the
/// deployments stay in the store and come back on the next <c>up</c>.
/// </summary>
internal sealed class UpCommand : Command
{
    private readonly IInteraction _interaction;
    private readonly GlobalOptions _global;

    public UpCommand(IInteraction interaction, GlobalOptions global)
        : base("up", "Run everything on this machine: control plane, gateway and three local clouds, state in SQLite.")
    {
        _interaction = interaction;
        _global = global;
        Options.Add(DataDirOption);
        Options.Add(HostOption);
        Options.Add(PortOption);
        Options.Add(GatewayPortOption);
        Options.Add(CloudsOption);
        Options.Add(DemoOption);
        Options.Add(ClusterIdOption);
        Options.Add(InsecureOption);
        Options.Add(VerboseOption);
        SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
    }

    public Option<DirectoryInfo> DataDirOption { get; } = new("--data-dir")
    {
        Description = "Where state, models and cloud folders live.",
        DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".stratus")),
    };

    public Option<string> HostOption { get; } = new("--host") { Description = "Address the API and the gateway bind.", DefaultValueFactory = _ => "127.0.0.1" };

    public Option<int> PortOption { get; } = new("--port") { Description = "API port; 0 picks a free one.", DefaultValueFactory = _ => 7700 };

    public Option<int> GatewayPortOption { get; } = new("--gateway-port") { Description = "Inference endpoint port; 0 picks a free one.", DefaultValueFactory = _ => 7780 };

    public Option<FileInfo> CloudsOption { get; } = new("--clouds") { Description = "A clouds.yaml; without it, three local clouds." };

    public Option<bool> DemoOption { get; } = new("--demo") { Description = "Push the sample model, deploy it to three clouds and infer through the gateway." };

    public Option<string> ClusterIdOption { get; } = ClusterId.Option();

    public Option<bool> InsecureOption { get; } = TlsFlags.Insecure();

    public Option<bool> VerboseOption { get; } = new("--verbose") { Description = "Log reconciler and server events." };

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var data = parse.GetValue(DataDirOption)!.FullName;
        var host = parse.GetValue(HostOption)!;
        Action<ILoggingBuilder>? logging = parse.GetValue(VerboseOption) ? b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information) : null;
        PlatformTlsFiles? tls;
        try
        {
            tls = TlsFlags.Prepare(data, host, parse.GetValue(InsecureOption), caFolder: null, listenerFolder: null);
        }
        catch (TlsConfigurationException e)
        {
            _interaction.Error(e.Message);
            return ExitCodes.InvalidArguments;
        }

        using var ownedTls = tls;
        if (tls is null)
        {
            _interaction.Warning("--insecure: the API and the gateway speak plain HTTP; tokens and requests cross the network readable. Use it for debugging only.");
        }

        ControlPlaneHost controlPlane;
        try
        {
            controlPlane = await ControlPlaneHost.StartAsync(
                new ControlPlaneOptions
                {
                    DataDirectory = data,
                    Host = host,
                    Port = parse.GetValue(PortOption),
                    CloudsFile = parse.GetValue(CloudsOption)?.FullName,
                    ClusterId = parse.GetValue(ClusterIdOption)!,
                    Tls = tls?.Listener,
                    ReplicaTls = tls?.Replicas,
                },
                logging,
                cancellationToken);
        }
        catch (CloudsConfigException e)
        {
            _interaction.Error(e.Message);
            return ExitCodes.InvalidArguments;
        }
        catch (IOException e)
        {
            _interaction.Error($"cannot start the control plane on {host}:{parse.GetValue(PortOption)}: {e.Message} (is another 'stratus up' running? --port picks another)");
            return ExitCodes.ListenFailed;
        }

        GatewayHost gateway;
        try
        {
            gateway = await GatewayHost.StartAsync(
                new GatewayOptions
                {
                    Host = host,
                    Port = parse.GetValue(GatewayPortOption),
                    LoadSinks = [controlPlane.Loads],
                    SampleSink = controlPlane.Samples,
                    Tls = tls?.Listener,
                    ReplicaClient = tls?.Replicas.Client,
                },
                controlPlane.Routes,
                logging,
                cancellationToken);
        }
        catch (IOException e)
        {
            await controlPlane.DisposeAsync();
            _interaction.Error($"cannot start the gateway on {host}:{parse.GetValue(GatewayPortOption)}: {e.Message} (--gateway-port picks another)");
            return ExitCodes.ListenFailed;
        }

        var configPath = _global.ConfigPath(parse);
        new ClientConfig(controlPlane.Address, gateway.Address, controlPlane.AdminTokenPath, tls?.CaFile).Save(configPath);
        var self = SelfCommand();
        _interaction.Line("Stratus is up");
        _interaction.Field("api", $"{controlPlane.Address}api/v1  (OpenAPI: {controlPlane.Address}api/v1/openapi.json)");
        _interaction.Field("inference", $"{gateway.Address}v2/models/{{deployment}}/infer");
        _interaction.Field("clouds", string.Join(", ", controlPlane.Clouds.Select(c => $"{c.Name} ({c.Region}, {c.Jurisdiction})")));
        _interaction.Field("data", data);
        _interaction.Field("token", $"admin token in {controlPlane.AdminTokenPath}");
        _interaction.Field("tls", tls is null ? "off (--insecure)" : $"on, development CA {tls.CaFile} (the config trusts it) for the API and the gateway");
        _interaction.Field("config", $"{configPath} (the client verbs read it)");

        var exit = ExitCodes.Success;
        try
        {
            if (parse.GetValue(DemoOption))
            {
                exit = await DemoAsync(controlPlane, gateway, tls is null ? null : new ClientTls(PlatformTrust.FromFile(tls.CaFile)), self, cancellationToken);
            }
            else
            {
                _interaction.Line($"next: {self} model push models/credit-risk.onnx --name credit-risk");
            }

            if (exit == ExitCodes.Success)
            {
                _interaction.Line("running; Ctrl+C stops Stratus and its replicas (deployments come back on the next 'up')");
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _interaction.Line("stopping: draining replicas");
        }
        finally
        {
            await controlPlane.StopReplicasAsync(CancellationToken.None);
            await gateway.DisposeAsync();
            await controlPlane.DisposeAsync();
        }

        if (exit == ExitCodes.Success)
        {
            _interaction.Line("stopped");
        }

        return exit;
    }

    /// <summary>The newcomer's first five minutes: push, deploy to three clouds, infer through the gateway, all over the real API.</summary>
    private async Task<int> DemoAsync(ControlPlaneHost controlPlane, GatewayHost gateway, ClientTls? trust, string self, CancellationToken cancellationToken)
    {
        if (FindSample("credit-risk.onnx") is not { } model || FindSample("credit-risk.request.json") is not { } request)
        {
            _interaction.Error("the demo needs models/credit-risk.onnx and models/credit-risk.request.json; run it from the repository root");
            return ExitCodes.InvalidArguments;
        }

        var console = _interaction.Console;
        var token = (await File.ReadAllTextAsync(controlPlane.AdminTokenPath, cancellationToken)).Trim();
        using var client = new StratusClient(controlPlane.Address, token, trust?.CreateHandler());
        try
        {
            // Pushing the same file again would only add a version: reuse the one with these bytes.
            string sha256;
            await using (var file = File.OpenRead(model))
            {
                sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
            }

            var existing = (await client.ListModelsAsync(cancellationToken)).Where(v => v.Name == "credit-risk" && v.Sha256 == sha256).MaxBy(v => v.Version);
            ModelVersion version;
            if (existing is null)
            {
                await using var file = File.OpenRead(model);
                version = await client.PushModelAsync("credit-risk", file, cancellationToken: cancellationToken);
            }
            else
            {
                version = existing;
            }

            _interaction.Line($"demo: model credit-risk version {version.Version} (sha256 {version.Sha256[..12]}…, validated in ONNX Runtime)");
            var watch = Stopwatch.StartNew();
            // Public, so a newcomer can call it without a key; 'stratus key create' makes keys for private ones.
            await client.DeployAsync("credit-risk", "credit-risk", version.Version, 3, placement: new PlacementConstraints { MinClouds = 3 }, isPublic: true, cancellationToken: cancellationToken);
            await console.WhileAsync("demo: starting 3 replicas of credit-risk, one per cloud", () =>
                client.WaitForReadyAsync("credit-risk", 3, TimeSpan.FromSeconds(120), cancellationToken));
            var status = await client.GetDeploymentAsync("credit-risk", cancellationToken);
            _interaction.Line($"demo: deployment credit-risk ready in {watch.Elapsed.TotalSeconds:0.0} s");
            DeploymentCommand.Show(console, status);

            using var inference = new InferenceClient(gateway.Address, handler: trust?.CreateHandler());
            watch.Restart();
            using var answer = await inference.InferAsync("credit-risk", await File.ReadAllTextAsync(request, cancellationToken), cancellationToken: cancellationToken);
            var outputs = answer.RootElement.GetProperty("outputs").EnumerateArray().Select(o =>
                $"{o.GetProperty("name").GetString()} {o.GetProperty("shape").GetRawText()} = {o.GetProperty("data").GetRawText()}");
            _interaction.Line($"demo: POST {gateway.Address}v2/models/credit-risk/infer answered in {watch.Elapsed.TotalMilliseconds:0.0} ms: {string.Join("; ", outputs)}");
            _interaction.Line("try:");
            foreach (var example in new[] { "deployment list", "cloud list", $"infer credit-risk -i @{Path.GetRelativePath(Environment.CurrentDirectory, request)}", "cloud outage local-eu", "audit verify" })
            {
                _interaction.Line($"  {self} {example}");
            }

            return ExitCodes.Success;
        }
        catch (Exception e) when (e is StratusApiException or TimeoutException or HttpRequestException)
        {
            _interaction.Error($"demo failed: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>A sample from models/: under the current directory, else above the executable (a repository checkout).</summary>
    private static string? FindSample(string name)
    {
        var local = Path.Combine(Environment.CurrentDirectory, "models", name);
        if (File.Exists(local))
        {
            return local;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>How to run this executable again from the current directory, for the hints printed.</summary>
    private static string SelfCommand()
    {
        var process = Environment.ProcessPath ?? "stratus";
        if (Path.GetFileNameWithoutExtension(process) != "stratus")
        {
            return "stratus";
        }

        var relative = Path.GetRelativePath(Environment.CurrentDirectory, process);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? process : relative;
    }
}
