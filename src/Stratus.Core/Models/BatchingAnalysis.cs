namespace Stratus.Core.Models;

/// <summary>The verdict on whether requests to a model may be merged along the leading dimension.</summary>
public sealed record BatchingVerdict(bool CanBatch, string Reason);

/// <summary>
/// Decides whether dynamic batching is correct for a signature. Merging requests is only sound when the
/// leading dimension of every input and every output is the same dynamic batch dimension: a scalar input,
/// a fixed leading dimension, or a tensor that carries the batch elsewhere (recurrent state laid out as
/// [layers, batch, hidden]) would be concatenated along the wrong axis.
/// </summary>
public static class BatchingAnalysis
{
    public static BatchingVerdict Analyze(ModelSignature signature)
    {
        if (signature.Inputs.Count == 0 || signature.Outputs.Count == 0)
        {
            return new(false, "the model has no inputs or no outputs");
        }

        string? batchName = null;
        foreach (var (spec, kind) in signature.Inputs.Select(s => (s, "input")).Concat(signature.Outputs.Select(s => (s, "output"))))
        {
            if (spec.Rank == 0)
            {
                return new(false, $"{kind} '{spec.Name}' is a scalar");
            }

            if (!spec.IsDynamic(0))
            {
                return new(false, $"{kind} '{spec.Name}' has a fixed leading dimension {spec.Shape[0]}");
            }

            var name = spec.DimensionNames.Count > 0 ? spec.DimensionNames[0] : string.Empty;
            if (name.Length == 0)
            {
                continue;
            }

            batchName ??= name;
            if (name != batchName)
            {
                return new(false, $"{kind} '{spec.Name}' leads with dimension '{name}', not the batch dimension '{batchName}'");
            }

            for (var d = 1; d < spec.Rank; d++)
            {
                if (d < spec.DimensionNames.Count && spec.DimensionNames[d] == batchName)
                {
                    return new(false, $"{kind} '{spec.Name}' carries the batch dimension '{batchName}' at position {d} as well");
                }
            }
        }

        return new(true, batchName is null
            ? "every input and output has a dynamic leading dimension"
            : $"every input and output leads with the batch dimension '{batchName}'");
    }
}
