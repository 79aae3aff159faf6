using Microsoft.AspNetCore.Http;

namespace Stratus.Gateway;

/// <summary>The request body the retry step buffered, copied out after the answer (for a shadow or a recorded sample).</summary>
internal static class BufferedRequest
{
    /// <summary>The whole body, or null when it is larger than <paramref name="limit"/> or not buffered.</summary>
    public static async Task<byte[]?> CopyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (!request.Body.CanSeek || request.Body.Length > limit)
        {
            return null;
        }

        var body = new byte[request.Body.Length];
        request.Body.Position = 0;
        await request.Body.ReadExactlyAsync(body, cancellationToken);
        return body;
    }

    /// <summary>The binary tensor extension's JSON header length, when the body uses it.</summary>
    public static int? HeaderLength(IHeaderDictionary headers) =>
        int.TryParse(headers[HeaderLengthName].ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) ? length : null;

    public const string HeaderLengthName = "Inference-Header-Content-Length";
}
