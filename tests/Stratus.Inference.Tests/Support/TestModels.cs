namespace Stratus.Inference.Tests.Support;

/// <summary>Locates the sample models the repository ships under models/.</summary>
internal static class TestModels
{
    public static string Path(string file) => Stratus.Testing.RepositoryFiles.Model(file);

    public static string CreditRisk => Path("credit-risk.onnx");

    public static string MlpLarge => Path("mlp-large.onnx");

    public static string MultiInput => Path("multi-input.onnx");

    public static string AllTypes => Path("all-types.onnx");

    public static string Scale => Path("scale.onnx");

    public static string State => Path("state.onnx");

    public static string Corrupt => Path("corrupt.onnx");
}
