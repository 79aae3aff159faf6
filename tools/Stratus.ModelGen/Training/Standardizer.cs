namespace Stratus.ModelGen.Training;

/// <summary>
/// Per-feature z-scoring fitted on the training split. It is exported into the graph as
/// Sub(mean) then Mul(inv_std), so clients send raw feature values; <see cref="Apply"/>
/// performs exactly those two float32 operations so training, the fixture and ONNX Runtime agree.
/// </summary>
internal sealed class Standardizer
{
    private Standardizer(float[] mean, float[] invStd)
    {
        Mean = mean;
        InvStd = invStd;
    }

    public float[] Mean { get; }

    public float[] InvStd { get; }

    public int FeatureCount => Mean.Length;

    public static Standardizer Fit(float[] rows, int featureCount)
    {
        var count = rows.Length / featureCount;
        var mean = new float[featureCount];
        var invStd = new float[featureCount];
        for (var j = 0; j < featureCount; j++)
        {
            // Accumulate in double: summing 16k incomes in float would lose digits.
            var sum = 0.0;
            for (var i = 0; i < count; i++)
            {
                sum += rows[(i * featureCount) + j];
            }

            var mu = sum / count;
            var squares = 0.0;
            for (var i = 0; i < count; i++)
            {
                var d = rows[(i * featureCount) + j] - mu;
                squares += d * d;
            }

            var std = Math.Sqrt(squares / count);
            mean[j] = (float)mu;
            invStd[j] = std > 0 ? (float)(1.0 / std) : 1f;
        }

        return new Standardizer(mean, invStd);
    }

    public float[] Apply(ReadOnlySpan<float> rows)
    {
        var result = new float[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var j = i % FeatureCount;
            result[i] = (rows[i] - Mean[j]) * InvStd[j];
        }

        return result;
    }
}
