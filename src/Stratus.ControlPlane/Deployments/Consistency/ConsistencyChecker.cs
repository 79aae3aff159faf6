using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Stratus.ControlPlane.Store;
using Stratus.Core.Models;
using Stratus.Core.Rollouts;

namespace Stratus.ControlPlane.Deployments.Consistency;

/// <summary>What a replica's check found: why it must stay out of traffic (null when it may serve), and the note the deployment shows.</summary>
public sealed record ConsistencyResult(string? Failure, string Note, int Usable, int Total)
{
    /// <summary>Whether any probe could be compared; when none could, the note says so and consistency is not checked.</summary>
    public bool Checked => Usable > 0;
}

/// <summary>
/// Before a new replica takes traffic, it answers the version's probe set (<see cref="ProbeSets"/>). Per model file
/// (its SHA-256) and probe, the first replica's answer is the reference, kept in the store; every later replica of
/// the same file, in any cloud, after any restart, must give the same answer within a tight tolerance.
/// <para>
/// A probe the reference replica itself refuses (the model answers it with an error: a sample rate it does not take,
/// an image too small for its convolutions) is a property of the model, not a fault of the replica: it is dropped,
/// and when no probe is left the deployment records "no usable probe set; consistency not checked" instead of
/// refusing the replica. A replica that cannot be reached, is not ready, answers a probe the reference answered with
/// an error, or answers differently, fails the check.
/// </para>
/// </summary>
public sealed class ConsistencyChecker(IProbeReferenceStore references, HttpMessageHandler? handler = null) : IDisposable
{
    /// <summary>Allowed difference: absolute plus relative to the reference value.</summary>
    public const double Tolerance = 1e-5;

    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler { UseProxy = false }, disposeHandler: true) { Timeout = TimeSpan.FromSeconds(10) };

    public async Task<ConsistencyResult> CheckAsync(ModelVersion version, IReadOnlyList<Probe> probes, string servedName, Uri endpoint, string replicaId, CancellationToken cancellationToken)
    {
        if (await SignatureDifferenceAsync(version, servedName, endpoint, cancellationToken) is { } different)
        {
            return new ConsistencyResult(different, string.Empty, 0, probes.Count);
        }

        var kind = probes.Count > 0 && probes.All(p => p.Kind == Probe.SampleKind) ? "sample" : "synthetic";
        var usable = 0;
        string? firstRejection = null;
        for (var i = 0; i < probes.Count; i++)
        {
            var (answer, refusal, failure) = await AskAsync(probes[i], servedName, endpoint, cancellationToken);
            if (failure is not null)
            {
                return new ConsistencyResult($"it could not answer probe {i + 1}: {failure}", string.Empty, usable, probes.Count);
            }

            var mine = new ProbeReference(answer is not null, answer, refusal, replicaId);
            var reference = await references.SetIfAbsentAsync(version.Sha256, probes[i].Sha256, mine, cancellationToken);
            if (!reference.Answered)
            {
                // The model refuses this probe: dropped, whatever this replica answered.
                firstRejection ??= $"probe {i + 1}: {reference.Detail}";
                continue;
            }

            if (answer is null)
            {
                return new ConsistencyResult($"it refused probe {i + 1}, which the reference replica {reference.Replica} answered: {refusal}", string.Empty, usable, probes.Count);
            }

            if (Difference(reference.Answer!, answer, i) is { } difference)
            {
                return new ConsistencyResult(difference, string.Empty, usable, probes.Count);
            }

            usable++;
        }

        var note = usable == probes.Count
            ? $"checked on {usable} {kind} probe(s)"
            : usable > 0
                ? $"checked on {usable} of {probes.Count} {kind} probes; the model refused {probes.Count - usable} ({firstRejection})"
                : $"no usable probe set; consistency not checked: the model refused all {probes.Count} {kind} probes ({firstRejection}); push real requests with 'stratus model push --sample'";
        return new ConsistencyResult(null, note, usable, probes.Count);
    }

    /// <summary>
    /// First, the model the replica serves must have the version's signature (its metadata names the same inputs and
    /// outputs with the same datatypes and shapes): a replica of another model file is caught here, whatever it
    /// answers, and only then is an error answer to a probe the model's own refusal.
    /// </summary>
    private async Task<string?> SignatureDifferenceAsync(ModelVersion version, string servedName, Uri endpoint, CancellationToken cancellationToken)
    {
        string body;
        try
        {
            using var response = await _http.GetAsync(new Uri(endpoint, $"v2/models/{servedName}"), cancellationToken);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return $"it could not answer its metadata: {(int)response.StatusCode} {Shorten(body)}";
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return $"it could not answer its metadata: {e.Message}";
        }

        static string Describe(IEnumerable<(string Name, string Datatype, string Shape)> tensors) =>
            string.Join("; ", tensors.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => $"{t.Name} {t.Datatype} [{t.Shape}]"));
        try
        {
            using var document = JsonDocument.Parse(body);
            IEnumerable<(string, string, string)> Served(string kind) => document.RootElement.GetProperty(kind).EnumerateArray()
                .Select(t => (t.GetProperty("name").GetString()!, t.GetProperty("datatype").GetString()!, string.Join(",", t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()))));
            var expected = $"{Describe(version.Signature.Inputs.Select(t => (t.Name, t.DataType.ToWireName(), string.Join(",", t.Shape))))} -> {Describe(version.Signature.Outputs.Select(t => (t.Name, t.DataType.ToWireName(), string.Join(",", t.Shape))))}";
            var served = $"{Describe(Served("inputs"))} -> {Describe(Served("outputs"))}";
            return served == expected ? null : $"the model it serves has the signature {served}, not version {version.Version}'s {expected}";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"its metadata is not a v2 model metadata document: {e.Message}";
        }
    }

    /// <summary>The replica's answer (numbers), or its refusal (the model's error), or why it could not be asked at all.</summary>
    private async Task<(double[]? Answer, string? Refusal, string? Failure)> AskAsync(Probe probe, string servedName, Uri endpoint, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsync(new Uri(endpoint, $"v2/models/{servedName}/infer"), new StringContent(probe.Body, Encoding.UTF8, "application/json"), cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, null, e.Message);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    return (Flatten(body), null, null);
                }
                catch (FormatException e)
                {
                    return (null, null, $"its answer is not a v2 response: {e.Message}");
                }
            }

            // The model refused the probe when the replica says the input does not suit it (400) or that ONNX Runtime
            // failed on it (500 "the model failed", as an image too small for its convolutions makes it); anything
            // else (not ready, overloaded, an internal error, no v2 server at all) is the replica's failure.
            var error = ErrorOf(body);
            var refused = error is not null && (response.StatusCode == HttpStatusCode.BadRequest ||
                (response.StatusCode == HttpStatusCode.InternalServerError && error.StartsWith("the model failed", StringComparison.Ordinal)));
            return refused
                ? (null, $"{(int)response.StatusCode} {Shorten(error!)}", null)
                : (null, null, $"{(int)response.StatusCode} {Shorten(error ?? body)}");
        }
    }

    private static string? ErrorOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String
                ? error.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string text) => text.Length > 200 ? text[..200] + "..." : text;

    private static string? Difference(double[] reference, double[] answer, int probe)
    {
        if (reference.Length != answer.Length)
        {
            return $"its answer to probe {probe + 1} has {answer.Length} values, the reference {reference.Length}";
        }

        for (var j = 0; j < reference.Length; j++)
        {
            var same = double.IsNaN(reference[j]) ? double.IsNaN(answer[j]) : Math.Abs(reference[j] - answer[j]) <= Tolerance + (Tolerance * Math.Abs(reference[j]));
            if (!same)
            {
                return string.Create(CultureInfo.InvariantCulture, $"its answers differ from the reference replica's for the same model file (probe {probe + 1}, value {j}: {answer[j]:G9} against {reference[j]:G9})");
            }
        }

        return null;
    }

    /// <summary>
    /// How far two model files' answers lie apart over the probes both answered (a new version against the stable
    /// one); null until they share an answered probe.
    /// </summary>
    public async Task<string?> DivergenceAsync(string stableSha256, string candidateSha256, CancellationToken cancellationToken)
    {
        var stable = await references.ListAsync(stableSha256, cancellationToken);
        var candidate = await references.ListAsync(candidateSha256, cancellationToken);
        var shared = stable.Where(s => s.Value.Answered && candidate.TryGetValue(s.Key, out var c) && c.Answered).Select(s => (Stable: s.Value.Answer!, Candidate: candidate[s.Key].Answer!)).ToList();
        if (shared.Count == 0)
        {
            return null;
        }

        if (shared.Any(p => p.Stable.Length != p.Candidate.Length))
        {
            return "the answers to the probe set have different sizes";
        }

        var largest = shared.SelectMany(p => p.Stable.Zip(p.Candidate, (a, b) => Math.Abs(a - b))).DefaultIfEmpty(0).Max();
        return largest == 0
            ? $"identical answers to the {shared.Count} probes"
            : string.Create(CultureInfo.InvariantCulture, $"largest difference {largest:G4} over the {shared.Count} probes");
    }

    /// <summary>Every output's numbers (booleans as 0/1, strings by length), outputs in name order, for comparison.</summary>
    private static double[] Flatten(string body) =>
        [.. InferenceResponseReader.Read(Encoding.UTF8.GetBytes(body), headerLength: null).OrderBy(o => o.Name, StringComparer.Ordinal).SelectMany(o => o.Values)];

    public void Dispose() => _http.Dispose();
}
