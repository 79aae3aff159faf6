using Spectre.Console;
using Stratus.Cli.Interaction;

namespace Stratus.Cli.Tests;

/// <summary>Records what a command would print: lines, errors, and what it wrote to the console (tables, JSON, YAML).</summary>
internal sealed class TestInteraction : IInteraction
{
    private readonly System.Text.StringBuilder _console = new();

    public TestInteraction()
    {
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(new StringWriter(_console)),
        });
        Console.Profile.Width = 240;
    }

    public IAnsiConsole Console { get; }

    public List<string> Lines { get; } = [];

    public List<string> Errors { get; } = [];

    /// <summary>Everything written: plain lines and console output, in one text.</summary>
    public string Output => string.Join("\n", Lines) + "\n" + _console;

    /// <summary>What went to the console alone (the JSON or YAML of --output).</summary>
    public string ConsoleText => _console.ToString();

    public void Line(string text = "") => Lines.Add(text);

    public void Field(string label, string value) => Lines.Add($"{label}: {value}");

    public void Error(string text) => Errors.Add(text);

    public List<string> Warnings { get; } = [];

    public void Warning(string text) => Warnings.Add(text);
}
