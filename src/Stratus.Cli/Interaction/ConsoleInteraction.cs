using Spectre.Console;

namespace Stratus.Cli.Interaction;

internal sealed class ConsoleInteraction(TextWriter output, TextWriter error, IAnsiConsole console) : IInteraction
{
    public ConsoleInteraction()
        : this(System.Console.Out, System.Console.Error, Create())
    {
    }

    public IAnsiConsole Console => console;

    public void Line(string text = "") => output.WriteLine(text);

    public void Field(string label, string value) => output.WriteLine($"  {label,-9} {value}");

    public void Error(string text) => error.WriteLine($"error: {text}");

    public void Warning(string text) => error.WriteLine($"warning: {text}");

    /// <summary>The terminal's console; piped output gets a wide page so tables stay one line per row for grep and awk.</summary>
    private static IAnsiConsole Create()
    {
        var console = AnsiConsole.Console;
        if (System.Console.IsOutputRedirected)
        {
            console.Profile.Width = 240;
        }

        return console;
    }
}
