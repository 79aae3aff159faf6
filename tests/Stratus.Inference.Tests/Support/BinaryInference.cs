using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Stratus.Inference.Tests.Support;

/// <summary>Builds and reads bodies of the v2 binary tensor data extension, as Triton's clients do.</summary>
internal static class BinaryInference
{
    public static HttpContent Content(string headerJson, params byte[][] tensors)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var body = header.Concat(tensors.SelectMany(t => t)).ToArray();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return content;
    }

    /// <summary>Splits a binary response into its JSON header and each binary output's bytes, by name.</summary>
    public static async Task<(JsonElement Header, Dictionary<string, byte[]> Binary)> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.IsSuccessStatusCode, Encoding.UTF8.GetString(body));
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var header = JsonDocument.Parse(body.AsMemory(0, headerLength)).RootElement.Clone();
        var binary = new Dictionary<string, byte[]>();
        var offset = headerLength;
        foreach (var output in header.GetProperty("outputs").EnumerateArray())
        {
            if (output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var size))
            {
                binary[output.GetProperty("name").GetString()!] = body[offset..(offset + size.GetInt32())];
                offset += size.GetInt32();
            }
        }

        Assert.Equal(body.Length, offset);
        return (header, binary);
    }

    public static byte[] Bytes<T>(params T[] values)
        where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    public static byte[] Strings(params string[] values) =>
        [.. values.SelectMany(v => BitConverter.GetBytes(Encoding.UTF8.GetByteCount(v)).Concat(Encoding.UTF8.GetBytes(v)))];
}
