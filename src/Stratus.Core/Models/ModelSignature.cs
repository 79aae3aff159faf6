namespace Stratus.Core.Models;

/// <summary>What a model takes and returns, as extracted from its graph.</summary>
public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs)
{
    public TensorSpec? FindInput(string name) => Find(Inputs, name);

    public TensorSpec? FindOutput(string name) => Find(Outputs, name);

    private static TensorSpec? Find(IReadOnlyList<TensorSpec> specs, string name)
    {
        foreach (var spec in specs)
        {
            if (spec.Name == name)
            {
                return spec;
            }
        }

        return null;
    }
}
