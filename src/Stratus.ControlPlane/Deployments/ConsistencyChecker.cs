using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Stratus.ControlPlane.Registry;
using Stratus.Inference.Runtime;

namespace Stratus.ControlPlane.Deployments;

/// <summary>
/// Before a new replica takes traffic, it answers a probe set generated from the model's signature
/// (<see cref="WarmUp.ProbeSet"/>). The first replica of a model file to answer sets the reference answers for that
/// file (its SHA-256); every later replica of the same file, in any cloud, must agree with them within a tight
/// tolerance. A replica that cannot answer, or answers differently, is kept out of traffic.
/// </summary>
public sealed class ConsistencyChecker(HttpMessageHandler? handler = null) : IDisposable
{
    /// <summary>Allowed difference: absolute plus relative to the reference value.</summary>
    public const double Tolerance = 1e-5;

    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler { UseProxy = false }, disposeHandler: true) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentDictionary<string, IReadOnlyList<double[]>> _references = new(StringComparer.Ordinal);

    /// <summary>Null when the replica agrees (or set the reference); otherwise why it is kept out.</summary>
    public async Task<string?> CheckAsync(ModelVersion version, string servedName, Uri endpoint, CancellationToken cancellationToken)
    {
        var answers = new List<double[]>();
        foreach (var probe in WarmUp.ProbeSet(version.Signature))
        {
            using var response = await _http.PostAsync(new Uri(endpoint, $"v2/models/{servedName}/infer"), new StringContent(probe, Encoding.UTF8, "application/json"), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return $"it could not answer the probe set: {(int)response.StatusCode} {(body.Length > 160 ? body[..160] : body)}";
            }

            answers.Add(Flatten(body));
        }

        var reference = _references.GetOrAdd(version.Sha256, answers);
        if (ReferenceEquals(reference, answers))
        {
            return null;
        }

        for (var i = 0; i < reference.Count; i++)
        {
            if (reference[i].Length != answers[i].Length)
            {
                return $"its answer to probe {i + 1} has {answers[i].Length} values, the reference {reference[i].Length}";
            }

            for (var j = 0; j < reference[i].Length; j++)
            {
                var difference = Math.Abs(reference[i][j] - answers[i][j]);
                if (difference > Tolerance + (Tolerance * Math.Abs(reference[i][j])))
                {
                    return string.Create(CultureInfo.InvariantCulture, $"its answers differ from the reference replica's for the same model file (probe {i + 1}, value {j}: {answers[i][j]:G9} against {reference[i][j]:G9})");
                }
            }
        }

        return null;
    }

    /// <summary>
    /// How far two model files' answers to the probe set lie apart (a new version against the stable one), once both
    /// have references; null until then.
    /// </summary>
    public string? Divergence(string stableSha256, string candidateSha256)
    {
        if (!_references.TryGetValue(stableSha256, out var stable) || !_references.TryGetValue(candidateSha256, out var candidate))
        {
            return null;
        }

        if (stable.Count != candidate.Count || stable.Zip(candidate).Any(p => p.First.Length != p.Second.Length))
        {
            return "the answers to the probe set have different sizes";
        }

        var largest = stable.Zip(candidate).SelectMany(p => p.First.Zip(p.Second, (a, b) => Math.Abs(a - b))).DefaultIfEmpty(0).Max();
        return largest == 0
            ? $"identical answers to the {stable.Count} probes"
            : string.Create(CultureInfo.InvariantCulture, $"largest difference {largest:G4} over the {stable.Count} probes");
    }

    /// <summary>Every output's numbers in order (booleans as 0/1, strings by length), for comparison.</summary>
    private static double[] Flatten(string body)
    {
        using var document = JsonDocument.Parse(body);
        var values = new List<double>();
        foreach (var output in document.RootElement.GetProperty("outputs").EnumerateArray().OrderBy(o => o.GetProperty("name").GetString(), StringComparer.Ordinal))
        {
            foreach (var value in output.GetProperty("data").EnumerateArray())
            {
                values.Add(value.ValueKind switch
                {
                    JsonValueKind.Number => value.GetDouble(),
                    JsonValueKind.True => 1,
                    JsonValueKind.False => 0,
                    JsonValueKind.String => value.GetString()!.Length,
                    _ => double.NaN,
                });
            }
        }

        return [.. values];
    }

    public void Dispose() => _http.Dispose();
}
