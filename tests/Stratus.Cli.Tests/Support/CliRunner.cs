
namespace Stratus.Cli.Tests.Support;

/// <summary>Runs real `stratus` command lines in process, through the real parser and commands, capturing the output.</summary>
internal static class CliRunner
{
    public static async Task<(int Exit, TestInteraction Output)> RunAsync(params string[] args)
    {
        var interaction = new TestInteraction();
        var exit = await StratusCli.BuildRoot(interaction).Parse(args, StratusCli.Parsing).InvokeAsync();
        return (exit, interaction);
    }
}
