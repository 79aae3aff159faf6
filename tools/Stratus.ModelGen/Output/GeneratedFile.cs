namespace Stratus.ModelGen.Output;

/// <summary>A file the tool wrote, with what a reader needs to check reproducibility.</summary>
internal sealed record GeneratedFile(string Name, long Size, string Sha256);
