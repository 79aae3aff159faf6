using System.Globalization;
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
public sealed class ModelRegistry(SqliteDatabase database, ContentStore content, TimeProvider time)
{
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
            return await RecordAsync(name, staged, signature, pushedBy, cancellationToken);
        }
        finally
        {
            File.Delete(staged.Path);
        }
    }

    public async Task<IReadOnlyList<ModelVersion>> ListAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = name is null
            ? "SELECT name, version, sha256, size_bytes, signature_json, created_at, created_by FROM model_versions ORDER BY name, version;"
            : "SELECT name, version, sha256, size_bytes, signature_json, created_at, created_by FROM model_versions WHERE name = $name ORDER BY version;";
        command.Parameters.AddWithValue("$name", (object?)name ?? DBNull.Value);
        var versions = new List<ModelVersion>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(new ModelVersion(
                reader.GetString(0),
                reader.GetInt32(1),
                reader.GetString(2),
                reader.GetInt64(3),
                SignatureJson.Parse(reader.GetString(4)),
                DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                reader.GetString(6)));
        }

        return versions;
    }

    public async Task<ModelVersion?> GetAsync(string name, int version, CancellationToken cancellationToken = default) =>
        (await ListAsync(name, cancellationToken)).FirstOrDefault(v => v.Version == version);

    public string PathOf(ModelVersion version) => content.PathOf(version.Sha256);

    private async Task<ModelVersion> RecordAsync(string name, StagedContent staged, ModelSignature signature, string pushedBy, CancellationToken cancellationToken)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);

        // The write lock is taken before the next number is read, so concurrent pushes of one name get distinct versions.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO model_versions (name, version, sha256, size_bytes, signature_json, created_at, created_by)
            VALUES ($name, (SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = $name), $sha, $size, $signature, $at, $by)
            RETURNING version;
            """;
        var at = time.GetUtcNow();
        insert.Parameters.AddWithValue("$name", name);
        insert.Parameters.AddWithValue("$sha", staged.Sha256);
        insert.Parameters.AddWithValue("$size", staged.Size);
        insert.Parameters.AddWithValue("$signature", SignatureJson.Format(signature));
        insert.Parameters.AddWithValue("$at", at.ToString("O", CultureInfo.InvariantCulture));
        insert.Parameters.AddWithValue("$by", pushedBy);
        var version = Convert.ToInt32(await insert.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        await transaction.CommitAsync(cancellationToken);
        return new ModelVersion(name, version, staged.Sha256, staged.Size, signature, at, pushedBy);
    }
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
