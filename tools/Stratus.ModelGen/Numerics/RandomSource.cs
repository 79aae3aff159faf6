namespace Stratus.ModelGen.Numerics;

/// <summary>
/// Seeded sampling helpers over <see cref="Random"/>. <c>new Random(seed)</c> uses a fixed,
/// documented algorithm, and every transform here uses <see cref="DeterministicMath"/>,
/// so a given seed yields the same stream on every platform and .NET version.
/// </summary>
internal sealed class RandomSource
{
    private readonly Random _random;
    private double? _spareNormal;

    public RandomSource(int seed) => _random = new Random(seed);

    public double NextDouble() => _random.NextDouble();

    public double NextUniform(double min, double max) => min + ((max - min) * _random.NextDouble());

    public int NextInt(int maxExclusive) => _random.Next(maxExclusive);

    public void NextBytes(Span<byte> buffer) => _random.NextBytes(buffer);

    public bool NextBernoulli(double probability) => _random.NextDouble() < probability;

    /// <summary>
    /// Standard normal via Box-Muller in Marsaglia's polar form: it needs only log and sqrt
    /// (sqrt is exactly rounded by IEEE-754), not sin/cos, so it stays platform-independent.
    /// </summary>
    public double NextNormal()
    {
        if (_spareNormal is { } spare)
        {
            _spareNormal = null;
            return spare;
        }

        double u, v, s;
        do
        {
            u = (2.0 * _random.NextDouble()) - 1.0;
            v = (2.0 * _random.NextDouble()) - 1.0;
            s = (u * u) + (v * v);
        }
        while (s >= 1.0 || s == 0.0);

        var scale = Math.Sqrt(-2.0 * DeterministicMath.Log(s) / s);
        _spareNormal = v * scale;
        return u * scale;
    }

    public double NextNormal(double mean, double stdDev) => mean + (stdDev * NextNormal());

    /// <summary>Knuth's multiplication method; fine for the small rates used here.</summary>
    public int NextPoisson(double lambda)
    {
        var limit = DeterministicMath.Exp(-lambda);
        var count = 0;
        var product = _random.NextDouble();
        while (product > limit)
        {
            count++;
            product *= _random.NextDouble();
        }

        return count;
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle(int[] items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
