using System.Text.Json;
using Stratus.ControlPlane.Store;
using Stratus.Core.Models;
using Stratus.Inference.Runtime;

namespace Stratus.ControlPlane.Registry;

/// <summary>One stored version of a model.</summary>
public sealed record ModelVersion(string Name, int Version, string Sha256, long SizeBytes, ModelSignature Signature, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>
/// Takes model uploads: streams them to disk while hashing, loads them in ONNX Runtime to validate them and read
/// their signature, stores them by content, and numbers versions per model name. A file that does not load is
/// refused with the runtime's reason and leaves nothing behind.
/// </summary>
public sealed class ModelRegistry(IModelVersionStore versions, ContentStore content)
{
    /// <summary>A registry whose versions live in the SQLite file.</summary>
    public ModelRegistry(SqliteDatabase database, ContentStore content, TimeProvider time)
        : this(new SqliteModelVersionStore(database, time), content)
    {
    }

    public const long DefaultMaxModelBytes = 2L * 1024 * 1024 * 1024;

    public async Task<ModelVersion> PushAsync(string name, Stream upload, string pushedBy, long maxBytes = DefaultMaxModelBytes, CancellationToken cancellationToken = default)
    {
        ModelNames.Validate(name);
        var staged = await content.StageAsync(upload, maxBytes, cancellationToken);
        try
        {
            ModelSignature signature;
            try
            {
                using var model = OnnxModelHost.Load(staged.Path, new SessionSettings { IntraOpThreads = 1 });
                signature = model.Signature;
            }
            catch (ModelLoadException e)
            {
                throw new ModelRejectedException(e.Message.Replace(Path.GetFileName(staged.Path), name, StringComparison.Ordinal), e);
            }

            content.Commit(staged);
            return await versions.AddAsync(name, staged.Sha256, staged.Size, signature, pushedBy, cancellationToken);
        }
        finally
        {
            File.Delete(staged.Path);
        }
    }

    public Task<IReadOnlyList<ModelVersion>> ListAsync(string? name = null, CancellationToken cancellationToken = default) => versions.ListAsync(name, cancellationToken);

    public Task<ModelVersion?> GetAsync(string name, int version, CancellationToken cancellationToken = default) => versions.GetAsync(name, version, cancellationToken);

    public string PathOf(ModelVersion version) => content.PathOf(version.Sha256);
}

/// <summary>Model names appear in URLs and file names: lower-case DNS labels, as Kubernetes names are.</summary>
public static class ModelNames
{
    public static void Validate(string name)
    {
        var ok = name.Length is > 0 and <= 63
            && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            && name[0] != '-' && name[^1] != '-';
        if (!ok)
        {
            throw new ModelRejectedException($"model name '{name}' must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'");
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
