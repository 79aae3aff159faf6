using Stratus.Cli.Interaction;

namespace Stratus.Cli.Tests;

/// <summary>Records what a command would print.</summary>
internal sealed class TestInteraction : IInteraction
{
    public List<string> Lines { get; } = [];

    public List<string> Errors { get; } = [];

    public void Line(string text = "") => Lines.Add(text);

    public void Field(string label, string value) => Lines.Add($"{label}: {value}");

    public void Error(string text) => Errors.Add(text);
}
