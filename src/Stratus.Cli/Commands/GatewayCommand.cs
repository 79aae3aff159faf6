using System.CommandLine;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Client;
using Stratus.Core.Routing;
using Stratus.Core.Tls;
using Stratus.Gateway;

namespace Stratus.Cli.Commands;

/// <summary>
/// <c>stratus gateway</c>: the inference endpoint on its own, following a control plane's route table over HTTP and
/// reporting its load to it. With several servers (<c>--server URL,URL</c>) it follows the first that answers, fails
/// over to the next when that one stops answering, and reports its load to all of them.
/// </summary>
internal sealed class GatewayCommand : Command
{
    public GatewayCommand(IInteraction interaction, GlobalOptions global)
        : base("gateway", "Run the inference endpoint, following the control plane's route table and reporting load to it (--server URL[,URL...], --token).")
    {
        var host = new Option<string>("--host") { Description = "Address to bind.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port; 0 picks a free one.", DefaultValueFactory = _ => 7780 };
        var region = new Option<string>("--region") { Description = "The gateway's own region, preferred among regions of equal measured latency." };
        Options.Add(host);
        Options.Add(port);
        var routes = new Option<FileInfo>("--routes") { Description = "Serve a fixed route table from this JSON file (the shape of GET /api/v1/routes) instead of following a control plane." };
        var rateLimit = new Option<int>("--rate-limit") { Description = "Requests per second per caller (a key, or an address for public deployments); 0 for none." };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body forwarded (413 beyond).", DefaultValueFactory = _ => 64L * 1024 * 1024 };
        var timeout = new Option<int>("--timeout-ms") { Description = "A request's deadline, retries included (504 beyond).", DefaultValueFactory = _ => 30_000 };
        var metricsToken = new Option<FileInfo>("--metrics-token-file") { Description = "A file holding the bearer token /metrics asks for; without it /metrics answers loopback callers only." };
        Options.Add(region);
        Options.Add(routes);
        Options.Add(metricsToken);
        Options.Add(rateLimit);
        Options.Add(maxBody);
        Options.Add(timeout);
        var insecure = TlsFlags.Insecure();
        var tlsDir = TlsFlags.ListenerFolder("A folder with the gateway's certificate from the platform CA (tls.crt, tls.key, made by 'stratus cert issue') and the CA (ca.crt): the certificate is served to callers (watched for renewals) and the CA trusted for the servers it follows unless --ca names another.");
        Options.Add(insecure);
        Options.Add(tlsDir);
        SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            GatewayHost gateway;
            GatewayOptions options;
            var fixedRoutes = parse.GetValue(routes);
            string? token = null;
            if (parse.GetValue(metricsToken) is { } tokenFile)
            {
                try
                {
                    token = (await File.ReadAllTextAsync(tokenFile.FullName, cancellationToken)).Trim();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    interaction.Error($"cannot read the metrics token: {e.Message}");
                    return ExitCodes.InvalidArguments;
                }

                if (token.Length < 16)
                {
                    interaction.Error($"the metrics token in {tokenFile.FullName} is {token.Length} characters; use at least 16 (e.g. openssl rand -hex 32)");
                    return ExitCodes.InvalidArguments;
                }
            }

            ServerTls? listener = null;
            ClientTls? replicaClient = null;
            if (parse.GetValue(tlsDir) is { } folder)
            {
                if (parse.GetValue(insecure))
                {
                    interaction.Error("--insecure serves plain HTTP; it cannot be combined with --tls-dir");
                    return ExitCodes.InvalidArguments;
                }

                try
                {
                    var certificate = ReloadingCertificate.FromFolder(folder.FullName);
                    listener = new ServerTls(certificate);
                    replicaClient = new ClientTls(PlatformTrust.FromFile(Path.Combine(folder.FullName, PlatformCa.CertificateFile)), certificate);
                }
                catch (TlsConfigurationException e)
                {
                    interaction.Error(e.Message);
                    return ExitCodes.InvalidArguments;
                }
            }
            else if (!parse.GetValue(insecure))
            {
                interaction.Error("the gateway serves TLS: give --tls-dir with its certificate from the platform CA ('stratus cert issue'), or --insecure for plain HTTP");
                return ExitCodes.InvalidArguments;
            }

            // One client per server, trusting the --ca given or else the platform CA of --tls-dir.
            var serverTrust = session.Tls ?? (replicaClient is null ? null : new ClientTls(replicaClient.Trust));
            using var clients = new Disposables([.. session.Servers.Select(server => new StratusClient(server, session.Token, serverTrust?.CreateHandler()))]);
            var servers = clients.Clients.ToArray();
            try
            {
                IRouteSource source = fixedRoutes is not null ? new StaticRouteSource(fixedRoutes.FullName)
                    : servers.Length == 1 ? servers[0]
                    : new FailoverRouteSource(servers);
                gateway = await GatewayHost.StartAsync(options = new GatewayOptions
                {
                    Host = parse.GetValue(host)!,
                    Port = parse.GetValue(port),
                    Region = parse.GetValue(region),
                    RateLimitPerSecond = parse.GetValue(rateLimit),
                    MaxRequestBodyBytes = parse.GetValue(maxBody),
                    RequestTimeout = TimeSpan.FromMilliseconds(parse.GetValue(timeout)),
                    MetricsToken = token,
                    Tls = listener,
                    ReplicaClient = replicaClient,
                    LoadSinks = fixedRoutes is null ? servers : [],
                    SampleSink = fixedRoutes is null ? new FailoverSampleSink(servers) : null,
                }, source, cancellationToken: cancellationToken);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or FileNotFoundException)
            {
                interaction.Error($"cannot read the route table: {e.Message}");
                return ExitCodes.InvalidArguments;
            }
            catch (IOException e)
            {
                interaction.Error($"cannot listen on {parse.GetValue(host)}:{parse.GetValue(port)}: {e.Message}");
                return ExitCodes.ListenFailed;
            }

            await using (gateway)
            {
                interaction.Line("Stratus gateway");
                interaction.Field("inference", $"{gateway.Address}v2/models/{{deployment}}/infer");
                interaction.Field("routes", fixedRoutes is not null ? $"fixed, from {fixedRoutes.FullName}" : $"from {string.Join(", then ", servers.Select(c => $"{c.Server}api/v1/routes"))}");
                interaction.Field("load", fixedRoutes is not null ? "not reported (fixed routes)" : $"reported as {options.Id} to {string.Join(", ", servers.Select(c => c.Server))} every {options.LoadReportInterval.TotalMilliseconds:0} ms");
                interaction.Field("metrics", token is null ? $"{gateway.Address}metrics, to loopback callers only" : $"{gateway.Address}metrics, with the metrics token");
                interaction.Line($"ready at {gateway.Address}");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    interaction.Line("stopping");
                }
            }

            return ExitCodes.Success;
        }, cancellationToken));
    }

    /// <summary>The clients of the servers, disposed with the command.</summary>
    private sealed class Disposables(IReadOnlyList<StratusClient> clients) : IDisposable
    {
        public IReadOnlyList<StratusClient> Clients => clients;

        public void Dispose()
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
