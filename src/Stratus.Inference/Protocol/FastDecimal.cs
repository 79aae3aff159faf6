using System.Numerics;

namespace Stratus.Inference.Protocol;

/// <summary>
/// The exact fast path for decimal JSON numbers (Clinger's): when the significand fits the target type's mantissa
/// and the power of ten is itself exact, one IEEE multiplication or division is correctly rounded, so the result
/// equals that of a full parser. Numbers outside that range return false and go to the general parser. Most tensor
/// data (a handful of significant digits) takes the fast path, which is several times quicker per element.
/// </summary>
internal static class FastDecimal
{
    private const int MaxSingleDigits = 7; // 10^7 < 2^24
    private const int MaxDoubleDigits = 15; // 10^15 < 2^53

    // Up to 10^10 for float (5^10 < 2^24) and 10^22 for double (5^22 < 2^53): the powers each type holds exactly.
    private static readonly float[] SinglePowers = [1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f];

    private static readonly double[] DoublePowers =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    /// <param name="number">A JSON number token, already validated by the reader.</param>
    public static bool TryParseSingle(ReadOnlySpan<byte> number, out float value) => TryParse(number, MaxSingleDigits, SinglePowers, out value);

    /// <param name="number">A JSON number token, already validated by the reader.</param>
    public static bool TryParseDouble(ReadOnlySpan<byte> number, out double value) => TryParse(number, MaxDoubleDigits, DoublePowers, out value);

    private static bool TryParse<T>(ReadOnlySpan<byte> number, int maxDigits, T[] exactPowers, out T value)
        where T : IFloatingPointIeee754<T>
    {
        value = T.Zero;
        if (!TryDecompose(number, out var negative, out var significand, out var digits, out var scale) ||
            digits > maxDigits || Math.Abs(scale) >= exactPowers.Length)
        {
            return false;
        }

        var exact = T.CreateTruncating(significand);
        var magnitude = scale < 0 ? exact / exactPowers[-scale] : exact * exactPowers[scale];
        value = negative ? -magnitude : magnitude;
        return true;
    }

    /// <summary>Splits <c>-?digits(.digits)?([eE][+-]?digits)?</c> into significand × 10^scale.</summary>
    private static bool TryDecompose(ReadOnlySpan<byte> number, out bool negative, out ulong significand, out int digits, out int scale)
    {
        significand = 0;
        digits = 0;
        scale = 0;
        var i = 0;
        negative = number.Length > 0 && number[0] == (byte)'-';
        if (negative)
        {
            i++;
        }

        for (; i < number.Length && IsDigit(number[i]); i++)
        {
            if (!Accumulate(number[i], ref significand, ref digits))
            {
                return false;
            }
        }

        if (i < number.Length && number[i] == (byte)'.')
        {
            for (i++; i < number.Length && IsDigit(number[i]); i++)
            {
                if (!Accumulate(number[i], ref significand, ref digits))
                {
                    return false;
                }

                scale--;
            }
        }

        if (i < number.Length && (number[i] | 0x20) == (byte)'e')
        {
            i++;
            var exponentNegative = false;
            if (i < number.Length && number[i] is (byte)'+' or (byte)'-')
            {
                exponentNegative = number[i] == (byte)'-';
                i++;
            }

            var exponent = 0;
            var start = i;
            for (; i < number.Length && IsDigit(number[i]); i++)
            {
                if (i - start >= 4)
                {
                    return false;
                }

                exponent = (exponent * 10) + (number[i] - '0');
            }

            scale += exponentNegative ? -exponent : exponent;
        }

        // Zero is exact at any scale.
        if (significand == 0)
        {
            scale = 0;
        }

        return i == number.Length;
    }

    /// <summary>Adds a digit; leading zeros are not significant. False once there are too many digits to matter here.</summary>
    private static bool Accumulate(byte digit, ref ulong significand, ref int digits)
    {
        if (significand == 0 && digit == (byte)'0')
        {
            return true;
        }

        if (++digits > MaxDoubleDigits)
        {
            return false;
        }

        significand = (significand * 10) + (ulong)(digit - '0');
        return true;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;
}
