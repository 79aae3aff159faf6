namespace Stratus.ModelGen.Numerics;

/// <summary>
/// exp and log built only from IEEE-754 +, -, *, / (which are exactly rounded everywhere),
/// instead of Math.Exp/Math.Log, which defer to the platform C library and may differ in
/// the last bit between glibc, musl and the Windows CRT. That keeps the sampled data, the
/// trained weights and therefore the model bytes identical on every OS. Accuracy is within
/// a couple of ulps, far more than the data generation and training need.
/// </summary>
internal static class DeterministicMath
{
    // fdlibm's split of ln(2): the high part has trailing zero bits, so k * Ln2Hi is exact.
    private const double Ln2Hi = 6.93147180369123816490e-01;
    private const double Ln2Lo = 1.90821492927058770002e-10;
    private const double InvLn2 = 1.44269504088896338700e+00;
    private const double Sqrt2 = 1.41421356237309504880;

    public static double Exp(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        if (x > 709.78)
        {
            return double.PositiveInfinity;
        }

        if (x < -745.2)
        {
            return 0.0;
        }

        // x = k*ln2 + r with |r| <= ln2/2, so exp(x) = 2^k * exp(r).
        var k = Math.Round(x * InvLn2);
        var r = (x - (k * Ln2Hi)) - (k * Ln2Lo);

        // Taylor series in Horner form: 1 + r(1 + r/2(1 + r/3(...))); 17 terms reach double precision for |r| <= 0.35.
        var sum = 1.0;
        for (var n = 17; n >= 1; n--)
        {
            sum = 1.0 + (sum * r / n);
        }

        return Math.ScaleB(sum, (int)k);
    }

    public static double Log(double x)
    {
        if (double.IsNaN(x) || x < 0)
        {
            return double.NaN;
        }

        if (x == 0)
        {
            return double.NegativeInfinity;
        }

        if (double.IsPositiveInfinity(x))
        {
            return x;
        }

        // x = m * 2^e with m in [sqrt(1/2), sqrt(2)).
        var exponent = 0;
        if (!double.IsNormal(x))
        {
            x *= 18014398509481984.0; // 2^54 lifts subnormals into the normal range.
            exponent = -54;
        }

        var bits = BitConverter.DoubleToInt64Bits(x);
        exponent += (int)((bits >> 52) & 0x7FF) - 1023;
        var m = BitConverter.Int64BitsToDouble((bits & 0x000F_FFFF_FFFF_FFFFL) | 0x3FF0_0000_0000_0000L);
        if (m > Sqrt2)
        {
            m *= 0.5;
            exponent++;
        }

        // log(m) = 2 atanh(s) = 2(s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1), |s| <= 0.172.
        var s = (m - 1.0) / (m + 1.0);
        var s2 = s * s;
        var series = 1.0 / 27.0;
        for (var n = 25; n >= 1; n -= 2)
        {
            series = (1.0 / n) + (s2 * series);
        }

        var logM = 2.0 * s * series;
        return (exponent * Ln2Hi) + ((exponent * Ln2Lo) + logM);
    }

    public static double Sigmoid(double x) => 1.0 / (1.0 + Exp(-x));

    public static float Exp(float x) => (float)Exp((double)x);
}
