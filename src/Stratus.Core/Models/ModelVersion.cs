namespace Stratus.Core.Models;

/// <summary>One stored version of a model.</summary>
public sealed record ModelVersion(string Name, int Version, string Sha256, long SizeBytes, ModelSignature Signature, DateTimeOffset CreatedAt, string CreatedBy)
{
    /// <summary>How many sample requests the version has (its probe set when there are any).</summary>
    public int Samples { get; init; }
}
