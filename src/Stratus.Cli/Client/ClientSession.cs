using System.CommandLine;
using Stratus.Cli.Interaction;
using Stratus.Client;
using Stratus.Core.Tls;

namespace Stratus.Cli.Client;

/// <summary>The options every client verb takes, on the root command and inherited by every subcommand.</summary>
internal sealed class GlobalOptions
{
    public const string DefaultServer = "https://127.0.0.1:7700/";
    public const string DefaultGateway = "https://127.0.0.1:7780/";

    public Option<string> Server { get; } = new("--server") { Description = "Control plane URL (else $STRATUS_SERVER, the config file, or " + DefaultServer + "); 'gateway' takes several, comma-separated.", Recursive = true };

    public Option<string> Token { get; } = new("--token") { Description = "API token (else $STRATUS_TOKEN, or the token file the config names).", Recursive = true };

    public Option<string> Gateway { get; } = new("--gateway") { Description = "Inference endpoint for 'infer' (else $STRATUS_GATEWAY, the config file, or " + DefaultGateway + ").", Recursive = true };

    public Option<FileInfo> Ca { get; } = new("--ca") { Description = "CA certificate (PEM) to trust for the servers' TLS certificates (else $STRATUS_CA, or the CA the config file names, or the machine's roots).", Recursive = true };

    public Option<FileInfo> Config { get; } = new("--config") { Description = "Client config file (else $STRATUS_CONFIG or ~/.stratus/config.json); 'up' writes it.", Recursive = true };

    public Option<OutputFormat> Output { get; } = new("--output", "-o") { Description = "table, json or yaml.", DefaultValueFactory = _ => OutputFormat.Table, Recursive = true };

    public void AddTo(Command root)
    {
        root.Options.Add(Server);
        root.Options.Add(Token);
        root.Options.Add(Gateway);
        root.Options.Add(Ca);
        root.Options.Add(Config);
        root.Options.Add(Output);
    }

    public string ConfigPath(ParseResult parse) => parse.GetValue(Config)?.FullName ?? ClientConfig.DefaultPath;

    /// <summary>Runs a client verb with its connection, turning API errors and unreachable servers into one clear line and an exit code.</summary>
    public async Task<int> RunAsync(ParseResult parse, IInteraction interaction, Func<ClientSession, Task<int>> action, CancellationToken cancellationToken)
    {
        ClientSession session;
        try
        {
            session = Open(parse, interaction);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            interaction.Error(e.Message);
            return ExitCodes.InvalidArguments;
        }

        using (session)
        {
            try
            {
                return await action(session);
            }
            catch (StratusApiException e)
            {
                interaction.Error(e.Message);
                return (int)e.Status is 401 or 403 ? ExitCodes.Unauthorized : ExitCodes.Failure;
            }
            catch (HttpRequestException e) when (e.StatusCode is null)
            {
                interaction.Error($"cannot reach {session.Client.Server} or {session.Gateway}: {e.Message}. Is 'stratus up' running? --server and --gateway point elsewhere.");
                return ExitCodes.Unreachable;
            }
            catch (TimeoutException e)
            {
                interaction.Error(e.Message);
                return ExitCodes.Failure;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Failure;
            }
        }
    }

    private ClientSession Open(ParseResult parse, IInteraction interaction)
    {
        var config = ClientConfig.Load(ConfigPath(parse));
        var servers = Urls("--server", parse.GetValue(Server)) is { Count: > 0 } given ? given
            : Urls("$STRATUS_SERVER", Environment.GetEnvironmentVariable("STRATUS_SERVER")) is { Count: > 0 } fromEnvironment ? fromEnvironment
            : [config?.Server ?? new Uri(DefaultServer)];
        var gateway = Url("--gateway", parse.GetValue(Gateway)) ?? Url("$STRATUS_GATEWAY", Environment.GetEnvironmentVariable("STRATUS_GATEWAY")) ?? config?.Gateway ?? new Uri(DefaultGateway);
        var token = parse.GetValue(Token) ?? Environment.GetEnvironmentVariable("STRATUS_TOKEN");
        if (string.IsNullOrEmpty(token) && config?.TokenFile is { } tokenFile && File.Exists(tokenFile))
        {
            token = File.ReadAllText(tokenFile).Trim();
        }

        var caFile = parse.GetValue(Ca)?.FullName ?? (Environment.GetEnvironmentVariable("STRATUS_CA") is { Length: > 0 } caFromEnvironment ? caFromEnvironment : config?.CaFile);
        var trust = caFile is null ? null : Trust(caFile);
        return new ClientSession(new StratusClient(WithSlash(servers[0]), token, trust?.CreateHandler()), WithSlash(gateway), token, parse.GetValue(Output), interaction.Console)
        {
            Servers = [.. servers.Select(WithSlash)],
            Tls = trust,
        };
    }

    /// <summary>A comma-separated list of URLs (the first is the one client verbs talk to).</summary>
    private static List<Uri> Urls(string source, string? value) =>
        string.IsNullOrEmpty(value) ? [] : [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => Url(source, v)!)];

    private static Uri? Url(string source, string? value) =>
        string.IsNullOrEmpty(value) ? null
        : Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? url
        : throw new InvalidOperationException($"{source} must be an http:// or https:// URL, not '{value}'");

    private static ClientTls Trust(string caFile)
    {
        try
        {
            return new ClientTls(PlatformTrust.FromFile(caFile));
        }
        catch (TlsConfigurationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }

    private static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}

/// <summary>One client verb's connection and output settings.</summary>
internal sealed record ClientSession(StratusClient Client, Uri Gateway, string? Token, OutputFormat Format, Spectre.Console.IAnsiConsole Console) : IDisposable
{
    /// <summary>Every control-plane server given (<see cref="Client"/> talks to the first).</summary>
    public IReadOnlyList<Uri> Servers { get; init; } = [];

    /// <summary>The CA the servers' certificates are checked against; null trusts the machine's roots.</summary>
    public ClientTls? Tls { get; init; }

    /// <summary>A new client of <paramref name="server"/> with this session's token and trust.</summary>
    public StratusClient ClientOf(Uri server) => new(server, Token, Tls?.CreateHandler());

    public void Render<T>(T value, Action<T> table) => Output.Render(Console, Format, value, table);

    public void Dispose() => Client.Dispose();
}
