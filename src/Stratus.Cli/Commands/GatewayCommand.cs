using System.CommandLine;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Core.Routing;
using Stratus.Gateway;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus gateway</c>: the inference endpoint on its own, following a control plane's route table over HTTP.</summary>
internal sealed class GatewayCommand : Command
{
    public GatewayCommand(IInteraction interaction, GlobalOptions global)
        : base("gateway", "Run the inference endpoint, following the control plane's route table (--server, --token).")
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
        Options.Add(region);
        Options.Add(routes);
        Options.Add(rateLimit);
        Options.Add(maxBody);
        Options.Add(timeout);
        SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            GatewayHost gateway;
            try
            {
                IRouteSource source = parse.GetValue(routes) is { } file ? new StaticRouteSource(file.FullName) : session.Client;
                gateway = await GatewayHost.StartAsync(new GatewayOptions
                {
                    Host = parse.GetValue(host)!,
                    Port = parse.GetValue(port),
                    Region = parse.GetValue(region),
                    RateLimitPerSecond = parse.GetValue(rateLimit),
                    MaxRequestBodyBytes = parse.GetValue(maxBody),
                    RequestTimeout = TimeSpan.FromMilliseconds(parse.GetValue(timeout)),
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
                interaction.Field("routes", parse.GetValue(routes) is { } fixedRoutes ? $"fixed, from {fixedRoutes.FullName}" : $"from {session.Client.Server}api/v1/routes");
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
}
