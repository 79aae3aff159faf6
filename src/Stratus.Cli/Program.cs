using System.CommandLine;
using Stratus.Cli;
using Stratus.Cli.Commands;
using Stratus.Cli.Interaction;

return await StratusCli.BuildRoot(new ConsoleInteraction()).Parse(args).InvokeAsync();

namespace Stratus.Cli
{
    internal static class StratusCli
    {
        public static RootCommand BuildRoot(IInteraction interaction)
        {
            var root = new RootCommand("Stratus: ONNX models as inference services across clouds behind one endpoint.");
            root.Subcommands.Add(new ReplicaCommand(interaction));
            root.Subcommands.Add(new ServerCommand(interaction));
            return root;
        }
    }
}
