namespace Stratus.Inference.Tests.Support;

/// <summary>Locates the sample models the repository ships under models/.</summary>
internal static class TestModels
{
    private static readonly Lazy<string> Directory = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "models");
            if (File.Exists(System.IO.Path.Combine(candidate, "credit-risk.onnx")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("cannot find the repository's models/ directory");
    });

    public static string Path(string file) => System.IO.Path.Combine(Directory.Value, file);

    public static string CreditRisk => Path("credit-risk.onnx");

    public static string MlpLarge => Path("mlp-large.onnx");

    public static string MultiInput => Path("multi-input.onnx");

    public static string AllTypes => Path("all-types.onnx");

    public static string Scale => Path("scale.onnx");

    public static string State => Path("state.onnx");

    public static string Corrupt => Path("corrupt.onnx");
}
