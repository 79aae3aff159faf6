using System.Globalization;
using System.Text.Json;

namespace Stratus.ModelGen.Output;

/// <summary>
/// Tiny JSON formatting helpers. The files are laid out by hand (one tensor row per line)
/// because a general serializer would either cram everything on one line or put every
/// number on its own line; both make fixtures hard to read and diff.
/// </summary>
internal static class JsonText
{
    /// <summary>Shortest string that parses back to the identical float32 ("R" round-trip).</summary>
    public static string Float(float value)
    {
        if (!float.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "JSON has no non-finite numbers.");
        }

        return value.ToString("R", CultureInfo.InvariantCulture);
    }

    public static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A double rounded to at most <paramref name="significantDigits"/> significant digits.</summary>
    public static string Rounded(double value, int significantDigits) =>
        value.ToString("G" + significantDigits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "true" : "false";

    public static string String(string value) => JsonSerializer.Serialize(value);

    public static string Array(IEnumerable<string> items) => "[" + string.Join(", ", items) + "]";
}
