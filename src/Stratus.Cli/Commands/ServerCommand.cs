using System.CommandLine;
using Microsoft.Extensions.Logging;
using Stratus.Cli.Interaction;
using Stratus.ControlPlane.Clouds;
using Stratus.ControlPlane.Hosting;
using Stratus.Core.Tls;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus server</c>: the control plane alone (API, store, registry, clouds, reconciler).</summary>
internal sealed class ServerCommand : Command
{
    private readonly IInteraction _interaction;

    public ServerCommand(IInteraction interaction)
        : base("server", "Run the control plane: REST API, store (SQLite or PostgreSQL), model registry, clouds and reconciler.")
    {
        _interaction = interaction;
        Options.Add(DataDirOption);
        Options.Add(HostOption);
        Options.Add(PortOption);
        Options.Add(CloudsOption);
        Options.Add(StoreOption);
        Options.Add(BlobsOption);
        Options.Add(ConfigOption);
        Options.Add(ClusterIdOption);
        Options.Add(InsecureOption);
        Options.Add(PlatformCaOption);
        Options.Add(TlsDirOption);
        Options.Add(VerboseOption);
        SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
    }

    public Option<DirectoryInfo> DataDirOption { get; } = new("--data-dir")
    {
        Description = "Where state, models and cloud folders live.",
        DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".stratus")),
    };

    public Option<string> HostOption { get; } = new("--host") { Description = "Address to bind.", DefaultValueFactory = _ => "127.0.0.1" };

    public Option<int> PortOption { get; } = new("--port") { Description = "API port; 0 picks a free one.", DefaultValueFactory = _ => 7700 };

    public Option<FileInfo> CloudsOption { get; } = new("--clouds") { Description = "A clouds.yaml; without it, three local clouds." };

    public Option<string> StoreOption { get; } = new("--store") { Description = "A PostgreSQL connection string (\"Host=…;Database=…\"); without it, SQLite in the data directory." };

    public Option<DirectoryInfo> BlobsOption { get; } = new("--blobs") { Description = "A folder for model bytes, which several servers may share; without it, the data directory with SQLite and the database with PostgreSQL." };

    public Option<FileInfo> ConfigOption { get; } = new("--config") { Description = "A YAML file with store: and blobs:; options given on the command line win." };

    public Option<string> ClusterIdOption { get; } = ClusterId.Option();

    public Option<bool> InsecureOption { get; } = TlsFlags.Insecure();

    public Option<DirectoryInfo> PlatformCaOption { get; } = TlsFlags.PlatformCa();

    public Option<DirectoryInfo> TlsDirOption { get; } = TlsFlags.ListenerFolder("A folder with the API's tls.crt and tls.key (any CA), watched so a renewed pair is used without a restart. Default: issued by the platform CA.");

    public Option<bool> VerboseOption { get; } = new("--verbose") { Description = "Log reconciler and server events." };

    internal ControlPlaneOptions ToOptions(ParseResult parse) => new()
    {
        DataDirectory = parse.GetValue(DataDirOption)!.FullName,
        Host = parse.GetValue(HostOption)!,
        Port = parse.GetValue(PortOption),
        CloudsFile = parse.GetValue(CloudsOption)?.FullName,
        Store = parse.GetValue(StoreOption),
        Blobs = parse.GetValue(BlobsOption)?.FullName,
        ClusterId = parse.GetValue(ClusterIdOption)!,
    };

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var options = ToOptions(parse);
        var config = parse.GetValue(ConfigOption);
        var verbose = parse.GetValue(VerboseOption);
        PlatformTlsFiles? tls;
        try
        {
            tls = TlsFlags.Prepare(options.DataDirectory, options.Host, parse.GetValue(InsecureOption), parse.GetValue(PlatformCaOption), parse.GetValue(TlsDirOption));
        }
        catch (TlsConfigurationException e)
        {
            _interaction.Error(e.Message);
            return ExitCodes.InvalidArguments;
        }

        using var owned = tls;
        options.Tls = tls?.Listener;
        options.ReplicaTls = tls?.Replicas;
        if (config is not null)
        {
            try
            {
                var file = await ServerConfigFile.LoadAsync(config.FullName, cancellationToken);
                options.Store ??= file.Store;
                options.Blobs ??= file.Blobs;
            }
            catch (ServerConfigException e)
            {
                _interaction.Error(e.Message);
                return ExitCodes.InvalidArguments;
            }
        }

        ControlPlaneHost host;
        try
        {
            Action<ILoggingBuilder>? logging = verbose ? builder => builder.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information) : null;
            host = await ControlPlaneHost.StartAsync(options, logging, cancellationToken);
        }
        catch (CloudsConfigException e)
        {
            _interaction.Error(e.Message);
            return ExitCodes.InvalidArguments;
        }
        catch (StoreUnavailableException e)
        {
            _interaction.Error(e.Message);
            return e.InnerException is ArgumentException ? ExitCodes.InvalidArguments : ExitCodes.Unreachable;
        }
        catch (IOException e)
        {
            _interaction.Error($"cannot start the control plane: {e.Message}");
            return ExitCodes.ListenFailed;
        }

        await using (host)
        {
            _interaction.Line("Stratus control plane");
            _interaction.Field("api", $"{host.Address}api/v1");
            _interaction.Field("data", options.DataDirectory);
            _interaction.Field("store", string.IsNullOrWhiteSpace(options.Store) ? "sqlite" : "postgresql");
            _interaction.Field("token", $"admin token in {host.AdminTokenPath}");
            _interaction.Field("tls", tls is null ? "off (--insecure): plain HTTP" : $"on; clients trust {tls.CaFile}");
            _interaction.Line($"ready at {host.Address}");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                _interaction.Line("stopping (replicas keep running; the next start adopts them)");
            }
        }

        return ExitCodes.Success;
    }
}
