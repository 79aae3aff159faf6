using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Stratus.Core.Api;

/// <summary>
/// JSON is UTF-8 text, but JSON readers check only its structure and leave string contents to whoever reads them,
/// where invalid bytes fail as a defect (a 500) or turn into replacement characters. Bodies are checked up front.
/// </summary>
public static class Utf8Text
{
    /// <summary>Why the bytes are not UTF-8 (naming the offset of the first bad byte), or null when they are.</summary>
    public static string? Problem(ReadOnlySpan<byte> text)
    {
        if (Utf8.IsValid(text))
        {
            return null;
        }

        var offset = 0;
        while (Rune.DecodeFromUtf8(text[offset..], out _, out var consumed) == OperationStatus.Done)
        {
            offset += consumed;
        }

        return $"the body is not valid UTF-8 (JSON must be): the bytes at offset {offset} are not UTF-8";
    }
}
