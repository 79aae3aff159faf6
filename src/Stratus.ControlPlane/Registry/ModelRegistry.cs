using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.Core.Models;
using Stratus.Inference.Protocol;

namespace Stratus.ControlPlane.Registry;

/// <summary>
/// A real v2 inference request stored with a model version: its body (compact JSON), SHA-256 and where it came from
/// (<c>push</c>, <c>api</c>, <c>spec</c>, or <c>gateway</c> for requests recorded from live traffic).
/// </summary>
public sealed record SampleRequest(string Body, string Sha256, string Source)
{
    public static SampleRequest Of(string body, string source) =>
        new(body, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body))), source);
}

/// <summary>A version's stored sample request.</summary>
public sealed record ModelSample(int Seq, string Sha256, string Source, DateTimeOffset CreatedAt, string Body);

/// <summary>
/// Takes model uploads: streams them to a local file while hashing, loads them in ONNX Runtime to validate them and read
/// their signature (through an <see cref="IModelValidator"/>: the control plane's runs it in a child process with
/// memory and time limits), stores them by content, and numbers versions per model name. Sample requests pushed with a model
/// (or added later) are checked against its signature first. A file that does not load, or a sample that does not
/// fit, is refused with the reason and leaves nothing behind.
/// </summary>
public sealed class ModelRegistry(IModelVersionStore versions, IBlobStore blobs, IModelValidator? validator = null)
{
    private readonly IModelValidator _validator = validator ?? InProcessModelValidator.Instance;

    /// <summary>A registry whose versions live in the SQLite file.</summary>
    public ModelRegistry(SqliteDatabase database, IBlobStore blobs, TimeProvider time, IModelValidator? validator = null)
        : this(new SqliteModelVersionStore(database, time), blobs, validator)
    {
    }

    public const long DefaultMaxModelBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>Largest sample request (its JSON), and most samples per version.</summary>
    public const int MaxSampleBytes = 16 * 1024 * 1024;

    public const int MaxSamples = 64;

    public async Task<ModelVersion> PushAsync(string name, Stream upload, string pushedBy, long maxBytes = DefaultMaxModelBytes, CancellationToken cancellationToken = default) =>
        await PushAsync(name, upload, pushedBy, [], maxBytes, cancellationToken);

    /// <summary>Pushes a model with sample requests (raw JSON bodies), all validated before anything is stored.</summary>
    public async Task<ModelVersion> PushAsync(string name, Stream upload, string pushedBy, IReadOnlyList<string> samples, long maxBytes = DefaultMaxModelBytes, CancellationToken cancellationToken = default)
    {
        ModelNames.Validate(name);
        return await RegisterAsync(name, await StageAsync(upload, maxBytes, cancellationToken), samples, pushedBy, cancellationToken);
    }

    /// <summary>Streams an upload to a temporary file while hashing it; <see cref="RegisterAsync"/> then validates and stores it, or drops it.</summary>
    public Task<StagedContent> StageAsync(Stream upload, long maxBytes = DefaultMaxModelBytes, CancellationToken cancellationToken = default) =>
        blobs.StageAsync(upload, maxBytes, cancellationToken);

    /// <summary>
    /// Loads staged content in ONNX Runtime, checks the samples against its signature, and only then stores it as the
    /// next version with its samples. The staged file is gone afterwards either way.
    /// </summary>
    public async Task<ModelVersion> RegisterAsync(string name, StagedContent staged, IReadOnlyList<string> samples, string pushedBy, CancellationToken cancellationToken = default)
    {
        try
        {
            ModelNames.Validate(name);
            ModelSignature signature;
            try
            {
                signature = await _validator.ValidateAsync(staged.Path, cancellationToken);
            }
            catch (ModelRejectedException e)
            {
                throw new ModelRejectedException(e.Message.Replace(Path.GetFileName(staged.Path), name, StringComparison.Ordinal), e);
            }

            var checkedSamples = Samples.Check(signature, name, samples, "push", existing: 0);
            await blobs.CommitAsync(staged, cancellationToken);
            return await versions.AddAsync(name, staged.Sha256, staged.Size, signature, pushedBy, checkedSamples, cancellationToken);
        }
        finally
        {
            File.Delete(staged.Path);
        }
    }

    /// <summary>
    /// Adds sample requests to a version after checking them against its signature; returns how many were new. Only
    /// the new ones count against <see cref="MaxSamples"/>, so samples it already has (a spec applied again) are
    /// skipped rather than refused, however many it holds.
    /// </summary>
    public async Task<int> AddSamplesAsync(ModelVersion version, IReadOnlyList<string> samples, string source, CancellationToken cancellationToken = default)
    {
        var checkedSamples = Samples.Check(version.Signature, version.Name, samples, source, existing: 0);
        var stored = (await versions.ListSamplesAsync(version.Name, version.Version, cancellationToken)).Select(s => s.Sha256).ToHashSet(StringComparer.Ordinal);
        var fresh = checkedSamples.Where(s => !stored.Contains(s.Sha256)).DistinctBy(s => s.Sha256).ToList();
        Samples.EnsureRoom(stored.Count, fresh.Count);
        return fresh.Count == 0 ? 0 : await versions.AddSamplesAsync(version.Name, version.Version, fresh, cancellationToken);
    }

    public Task<IReadOnlyList<ModelSample>> ListSamplesAsync(ModelVersion version, CancellationToken cancellationToken = default) =>
        versions.ListSamplesAsync(version.Name, version.Version, cancellationToken);

    public Task<IReadOnlyList<ModelVersion>> ListAsync(string? name = null, CancellationToken cancellationToken = default) => versions.ListAsync(name, cancellationToken);

    public Task<ModelVersion?> GetAsync(string name, int version, CancellationToken cancellationToken = default) => versions.GetAsync(name, version, cancellationToken);

    /// <summary>A local file holding the version's model (providers copy it; ONNX Runtime loads it).</summary>
    public Task<string> LocalPathAsync(ModelVersion version, CancellationToken cancellationToken = default) => blobs.LocalPathAsync(version.Sha256, cancellationToken);

    /// <summary>The version's bytes as stored (what a cloud fetches its copy from).</summary>
    public Task<Stream> OpenAsync(ModelVersion version, CancellationToken cancellationToken = default) => blobs.OpenReadAsync(version.Sha256, cancellationToken);
}

/// <summary>
/// Sample requests are checked as a replica would check them (decoded as v2 JSON, then every input's name, datatype
/// and shape against the signature) and stored compact, so the same request sent twice is one sample.
/// </summary>
public static class Samples
{
    public static IReadOnlyList<SampleRequest> Check(ModelSignature signature, string model, IReadOnlyList<string> bodies, string source, int existing)
    {
        EnsureRoom(existing, bodies.Count);

        var checkedSamples = new List<SampleRequest>();
        for (var i = 0; i < bodies.Count; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(bodies[i]);
            if (bytes.Length > ModelRegistry.MaxSampleBytes)
            {
                throw new ModelRejectedException($"sample {i + 1} is {bytes.Length} bytes; a sample may be at most {ModelRegistry.MaxSampleBytes}");
            }

            try
            {
                using var request = InferenceRequestDecoder.Decode(bytes, headerLength: null);
                SignatureCheck.OrderInputs(signature, model, request);
                SignatureCheck.CheckRequestedOutputs(signature, model, request);
            }
            catch (InferenceException e)
            {
                throw new ModelRejectedException($"sample {i + 1} does not fit model {model}: {e.Message}");
            }

            using var document = JsonDocument.Parse(bytes);
            checkedSamples.Add(SampleRequest.Of(JsonSerializer.Serialize(document.RootElement), source));
        }

        return checkedSamples;
    }

    /// <summary>Refuses <paramref name="more"/> samples for a version that has <paramref name="existing"/> when together they pass the limit.</summary>
    public static void EnsureRoom(int existing, int more)
    {
        if (existing + more > ModelRegistry.MaxSamples)
        {
            throw new ModelRejectedException($"a model version keeps at most {ModelRegistry.MaxSamples} samples; it has {existing} and {more} more were given");
        }
    }
}

/// <summary>Model names appear in URLs and file names: lower-case DNS labels, as Kubernetes names are.</summary>
public static class ModelNames
{
    public static void Validate(string name)
    {
        if (ResourceNames.Problem(name, "model name") is { } problem)
        {
            throw new ModelRejectedException(problem);
        }
    }
}

/// <summary>The stored form of a signature.</summary>
internal static class SignatureJson
{
    private sealed record Spec(string Name, string Datatype, long[] Shape, string[] DimensionNames);

    private sealed record Document(Spec[] Inputs, Spec[] Outputs);

    public static string Format(ModelSignature signature) => JsonSerializer.Serialize(new Document(
        [.. signature.Inputs.Select(ToSpec)],
        [.. signature.Outputs.Select(ToSpec)]));

    public static ModelSignature Parse(string json)
    {
        var document = JsonSerializer.Deserialize<Document>(json) ?? throw new InvalidDataException("empty signature");
        return new ModelSignature([.. document.Inputs.Select(FromSpec)], [.. document.Outputs.Select(FromSpec)]);
    }

    private static Spec ToSpec(TensorSpec spec) => new(spec.Name, spec.DataType.ToWireName(), [.. spec.Shape], [.. spec.DimensionNames]);

    private static TensorSpec FromSpec(Spec spec) => new(
        spec.Name,
        TensorDataTypes.TryParse(spec.Datatype, out var type) ? type : throw new InvalidDataException($"unknown datatype {spec.Datatype}"),
        spec.Shape,
        spec.DimensionNames);
}
