using Spectre.Console;

namespace Stratus.Cli.Interaction;

/// <summary>All terminal output of the CLI goes through here, so commands stay testable and output stays consistent.</summary>
internal interface IInteraction
{
    /// <summary>For tables, progress bars and status spinners.</summary>
    IAnsiConsole Console { get; }

    void Line(string text = "");

    void Field(string label, string value);

    void Error(string text);

    /// <summary>Something the user asked for that weakens the system (to stderr, so it shows even when output is piped).</summary>
    void Warning(string text);
}
