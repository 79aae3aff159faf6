using System.CommandLine;
using Stratus.Cli;
using Stratus.Cli.Client;
using Stratus.Cli.Commands;
using Stratus.Cli.Interaction;

// '@file' is how 'infer --input' takes a file, not a response file; graceful stops (draining replicas on Ctrl+C)
// may take longer than the parser's default two seconds.
return await StratusCli.BuildRoot(new ConsoleInteraction()).Parse(args, StratusCli.Parsing).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });

namespace Stratus.Cli
{
    internal static class StratusCli
    {
        public static ParserConfiguration Parsing { get; } = new() { ResponseFileTokenReplacer = null };

        public static RootCommand BuildRoot(IInteraction interaction)
        {
            var global = new GlobalOptions();
            var root = new RootCommand("Stratus: ONNX models as inference services across clouds behind one endpoint.");
            global.AddTo(root);
            root.Subcommands.Add(new UpCommand(interaction, global));
            root.Subcommands.Add(new ServerCommand(interaction));
            root.Subcommands.Add(new GatewayCommand(interaction, global));
            root.Subcommands.Add(new ReplicaCommand(interaction, global));
            root.Subcommands.Add(new ImageCommand(interaction));
            root.Subcommands.Add(new CertCommand(interaction));
            root.Subcommands.Add(new ModelCommand(interaction, global));
            root.Subcommands.Add(new DeployCommand(interaction, global));
            root.Subcommands.Add(new ApplyCommand(interaction, global));
            root.Subcommands.Add(new DeploymentCommand(interaction, global));
            root.Subcommands.Add(new CloudCommand(interaction, global));
            root.Subcommands.Add(new TokenCommand(interaction, global));
            root.Subcommands.Add(new ClusterCommand(interaction, global));
            root.Subcommands.Add(new KeyCommand(interaction, global));
            root.Subcommands.Add(new RolloutCommand(interaction, global));
            root.Subcommands.Add(new AuditCommand(interaction, global));
            root.Subcommands.Add(new InferCommand(interaction, global));
            return root;
        }
    }
}
