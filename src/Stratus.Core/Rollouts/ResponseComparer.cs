using Stratus.Core.Models;

namespace Stratus.Core.Rollouts;

/// <summary>How one output of the shadow answer differs from the stable one.</summary>
/// <param name="MaxAbsolute">The largest <c>|shadow - stable|</c> over the elements (<see cref="double.MaxValue"/> where one is NaN or infinite and the other is not).</param>
/// <param name="MaxRelative">The largest <c>|shadow - stable| / max(|stable|, 1e-12)</c>, capped at <see cref="double.MaxValue"/>.</param>
/// <param name="WorstToleranceRatio">The largest <c>|shadow - stable| / (absTolerance + relTolerance × |stable|)</c>: above 1 is beyond tolerance; +∞ where one is NaN or infinite and the other is not.</param>
/// <param name="ArgmaxRows">For floating outputs whose last dimension is at least 2 (a classifier's scores), the rows (the product of the other dimensions); 0 otherwise.</param>
/// <param name="ArgmaxAgreed">Of those rows, how many have the same arg-max in both answers.</param>
public sealed record OutputDifference(string Output, double MaxAbsolute, double MaxRelative, double WorstToleranceRatio, long ArgmaxRows, long ArgmaxAgreed);

/// <summary>How a shadow answer differs from the stable one.</summary>
/// <param name="Outputs">The outputs present in both with the same datatype and shape.</param>
/// <param name="Mismatch">The structural differences (a missing or extra output, another datatype or shape), or null when there are none.</param>
public sealed record ResponseComparison(IReadOnlyList<OutputDifference> Outputs, string? Mismatch)
{
    public bool Diverges => Mismatch is not null || Outputs.Any(o => o.WorstToleranceRatio > 1);
}

/// <summary>Compares a shadow answer with the stable one, output by output (matched by name), element by element.</summary>
public static class ResponseComparer
{
    /// <summary>Below this a stable value counts as zero when dividing by it.</summary>
    private const double RelativeFloor = 1e-12;

    public static ResponseComparison Compare(IReadOnlyList<OutputTensor> stable, IReadOnlyList<OutputTensor> shadow, double absTolerance, double relTolerance)
    {
        var mismatches = new List<string>();
        var shadowByName = new Dictionary<string, OutputTensor>(StringComparer.Ordinal);
        foreach (var output in shadow)
        {
            if (!shadowByName.TryAdd(output.Name, output))
            {
                mismatches.Add($"output '{output.Name}' appears twice in the shadow answer");
            }
        }

        var stableNames = new HashSet<string>(StringComparer.Ordinal);
        var differences = new List<OutputDifference>();
        foreach (var expected in stable)
        {
            if (!stableNames.Add(expected.Name))
            {
                mismatches.Add($"output '{expected.Name}' appears twice in the stable answer");
            }
            else if (!shadowByName.TryGetValue(expected.Name, out var actual))
            {
                mismatches.Add($"output '{expected.Name}' is missing from the shadow answer");
            }
            else if (StructuralMismatch(expected, actual) is { } mismatch)
            {
                mismatches.Add(mismatch);
            }
            else
            {
                differences.Add(Difference(expected, actual, absTolerance, relTolerance));
            }
        }

        foreach (var extra in shadow.Select(o => o.Name).Distinct(StringComparer.Ordinal).Where(name => !stableNames.Contains(name)))
        {
            mismatches.Add($"output '{extra}' is in the shadow answer only");
        }

        return new ResponseComparison(differences, mismatches.Count == 0 ? null : string.Join("; ", mismatches));
    }

    private static string? StructuralMismatch(OutputTensor stable, OutputTensor shadow)
    {
        if (!string.Equals(stable.DataType, shadow.DataType, StringComparison.Ordinal))
        {
            return $"output '{stable.Name}' has datatype {shadow.DataType} in the shadow answer against {stable.DataType}";
        }

        if (!stable.Shape.AsSpan().SequenceEqual(shadow.Shape))
        {
            return $"output '{stable.Name}' has shape {TensorSpec.FormatShape(shadow.Shape)} in the shadow answer against {TensorSpec.FormatShape(stable.Shape)}";
        }

        return stable.Values.Length != shadow.Values.Length
            ? $"output '{stable.Name}' has {shadow.Values.Length} values in the shadow answer against {stable.Values.Length}"
            : null;
    }

    private static OutputDifference Difference(OutputTensor stable, OutputTensor shadow, double absTolerance, double relTolerance)
    {
        double maxAbsolute = 0, maxRelative = 0, worstRatio = 0;
        for (var i = 0; i < stable.Values.Length; i++)
        {
            var expected = stable.Values[i];
            var actual = shadow.Values[i];
            if (actual.Equals(expected))
            {
                continue; // equal, both NaN, or the same infinity
            }

            if (!double.IsFinite(expected) || !double.IsFinite(actual))
            {
                maxAbsolute = maxRelative = double.MaxValue;
                worstRatio = double.PositiveInfinity;
                continue;
            }

            var difference = Math.Min(Math.Abs(actual - expected), double.MaxValue);
            var allowed = absTolerance + (relTolerance * Math.Abs(expected));
            maxAbsolute = Math.Max(maxAbsolute, difference);
            maxRelative = Math.Max(maxRelative, Math.Min(difference / Math.Max(Math.Abs(expected), RelativeFloor), double.MaxValue));
            worstRatio = Math.Max(worstRatio, allowed > 0 ? difference / allowed : double.PositiveInfinity);
        }

        var (rows, agreed) = ArgmaxAgreement(stable, shadow);
        return new OutputDifference(stable.Name, maxAbsolute, maxRelative, worstRatio, rows, agreed);
    }

    private static (long Rows, long Agreed) ArgmaxAgreement(OutputTensor stable, OutputTensor shadow)
    {
        var floating = TensorDataTypes.TryParse(stable.DataType, out var type) && type is TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64;
        if (!floating || stable.Shape.Length == 0 || stable.Shape[^1] < 2 || stable.Shape[^1] > stable.Values.Length)
        {
            return (0, 0);
        }

        var width = (int)stable.Shape[^1];
        var rows = stable.Values.Length / width;
        var agreed = 0;
        for (var row = 0; row < rows; row++)
        {
            if (ArgMax(stable.Values.AsSpan(row * width, width)) == ArgMax(shadow.Values.AsSpan(row * width, width)))
            {
                agreed++;
            }
        }

        return (rows, agreed);
    }

    /// <summary>The first index of the largest value, NaN ignored (-1 when all are NaN).</summary>
    private static int ArgMax(ReadOnlySpan<double> scores)
    {
        var best = -1;
        for (var i = 0; i < scores.Length; i++)
        {
            if (!double.IsNaN(scores[i]) && (best < 0 || scores[i] > scores[best]))
            {
                best = i;
            }
        }

        return best;
    }
}
