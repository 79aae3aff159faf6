using System.CommandLine;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
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
        Options.Add(region);
        SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            GatewayHost gateway;
            try
            {
                gateway = await GatewayHost.StartAsync(new GatewayOptions { Host = parse.GetValue(host)!, Port = parse.GetValue(port), Region = parse.GetValue(region) }, session.Client, cancellationToken: cancellationToken);
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
                interaction.Field("routes", $"from {session.Client.Server}api/v1/routes");
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
