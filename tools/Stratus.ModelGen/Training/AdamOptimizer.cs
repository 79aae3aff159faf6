namespace Stratus.ModelGen.Training;

/// <summary>Adam (Kingma &amp; Ba) over a fixed list of float32 parameter arrays, updated in place.</summary>
internal sealed class AdamOptimizer
{
    private const float Beta1 = 0.9f;
    private const float Beta2 = 0.999f;
    private const float Epsilon = 1e-8f;

    private readonly IReadOnlyList<float[]> _parameters;
    private readonly float[][] _firstMoments;
    private readonly float[][] _secondMoments;

    // Running products instead of Math.Pow(beta, t): cheaper and free of libm differences.
    private double _beta1Power = 1.0;
    private double _beta2Power = 1.0;

    public AdamOptimizer(IReadOnlyList<float[]> parameters, float learningRate)
    {
        _parameters = parameters;
        _firstMoments = parameters.Select(p => new float[p.Length]).ToArray();
        _secondMoments = parameters.Select(p => new float[p.Length]).ToArray();
        LearningRate = learningRate;
    }

    public float LearningRate { get; set; }

    public void Step(IReadOnlyList<float[]> gradients)
    {
        _beta1Power *= Beta1;
        _beta2Power *= Beta2;
        var correction1 = (float)(1.0 - _beta1Power);
        var correction2 = (float)(1.0 - _beta2Power);
        for (var p = 0; p < _parameters.Count; p++)
        {
            var parameter = _parameters[p];
            var gradient = gradients[p];
            var m = _firstMoments[p];
            var v = _secondMoments[p];
            for (var i = 0; i < parameter.Length; i++)
            {
                var g = gradient[i];
                m[i] = (Beta1 * m[i]) + ((1f - Beta1) * g);
                v[i] = (Beta2 * v[i]) + ((1f - Beta2) * g * g);
                var mHat = m[i] / correction1;
                var vHat = v[i] / correction2;
                parameter[i] -= LearningRate * mHat / (MathF.Sqrt(vHat) + Epsilon);
            }
        }
    }
}
