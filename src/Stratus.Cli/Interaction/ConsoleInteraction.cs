namespace Stratus.Cli.Interaction;

/// <summary>All terminal output of the CLI goes through here, so commands stay testable and output stays consistent.</summary>
internal interface IInteraction
{
    void Line(string text = "");

    void Field(string label, string value);

    void Error(string text);
}

internal sealed class ConsoleInteraction(TextWriter output, TextWriter error) : IInteraction
{
    public ConsoleInteraction()
        : this(Console.Out, Console.Error)
    {
    }

    public void Line(string text = "") => output.WriteLine(text);

    public void Field(string label, string value) => output.WriteLine($"  {label,-9} {value}");

    public void Error(string text) => error.WriteLine($"error: {text}");
}
