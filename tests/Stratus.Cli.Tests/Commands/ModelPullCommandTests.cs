using System.Security.Cryptography;
using System.Text.Json;
using Stratus.Cli.Tests.Support;

namespace Stratus.Cli.Tests.Commands;

/// <summary><c>stratus model pull</c> against a real control plane: the file arrives verified, or not at all.</summary>
public sealed class ModelPullCommandTests : IAsyncLifetime
{
    private readonly string _model = Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx");
    private TestSystem _system = null!;
    private string _out = null!;

    public async Task InitializeAsync()
    {
        _system = await TestSystem.StartAsync();
        _out = Path.Combine(_system.Data, "pulled", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(_out)!);
        var (exit, output) = await _system.RunAsync("model", "push", _model, "--name", "credit-risk");
        Assert.True(exit == 0, string.Join("; ", output.Errors));
    }

    public async Task DisposeAsync() => await _system.DisposeAsync();

    private string Sha256 => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(_model)));

    private void AssertNothingWritten() => Assert.Equal([], Directory.GetFiles(Path.GetDirectoryName(_out)!));

    [Fact]
    public async Task Pull_KnownVersion_WritesTheSameBytesAndSaysTheirDigest()
    {
        var (exit, output) = await _system.RunAsync("model", "pull", "credit-risk", "--version", "1", "--out", _out, "--sha256", Sha256, "-o", "json");

        Assert.True(exit == 0, string.Join("; ", output.Errors));
        Assert.Equal(await File.ReadAllBytesAsync(_model), await File.ReadAllBytesAsync(_out));
        Assert.Equal(Sha256, JsonDocument.Parse(output.ConsoleText).RootElement.GetProperty("sha256").GetString());
        Assert.Equal([_out], Directory.GetFiles(Path.GetDirectoryName(_out)!));
    }

    [Fact]
    public async Task Pull_WithAnotherExpectedDigest_FailsNamingBothAndLeavesNoFile()
    {
        var wrong = Convert.ToHexStringLower(SHA256.HashData("not the model"u8));

        var (exit, output) = await _system.RunAsync("model", "pull", "credit-risk", "--version", "1", "--out", _out, "--sha256", wrong);

        Assert.Equal(ExitCodes.Failure, exit);
        var error = Assert.Single(output.Errors);
        Assert.Contains($"downloaded SHA-256 {Sha256} differs from the expected {wrong}", error, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [Fact]
    public async Task Pull_OverAnExistingFile_WithAMismatch_KeepsTheOldFile()
    {
        await File.WriteAllTextAsync(_out, "the copy from before");

        var (exit, _) = await _system.RunAsync("model", "pull", "credit-risk", "--version", "1", "--out", _out, "--sha256", new string('0', 64));

        Assert.Equal(ExitCodes.Failure, exit);
        Assert.Equal("the copy from before", await File.ReadAllTextAsync(_out));
        Assert.Equal([_out], Directory.GetFiles(Path.GetDirectoryName(_out)!));
    }

    [Fact]
    public async Task Pull_RegistryCopyDamaged_FailsAgainstTheRegistrysOwnDigest()
    {
        // The stored blob is corrupted behind the registry's back, as a failing disk would.
        var blob = Directory.GetFiles(_system.Data, Sha256 + "*", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(blob);
        bytes[^10] ^= 0xFF;
        await File.WriteAllBytesAsync(blob, bytes);

        var (exit, output) = await _system.RunAsync("model", "pull", "credit-risk", "--version", "1", "--out", _out);

        Assert.Equal(ExitCodes.Failure, exit);
        Assert.Contains($"differs from the registry's {Sha256}", Assert.Single(output.Errors), StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [Fact]
    public async Task Pull_UnknownVersion_Fails404AndLeavesNoFile()
    {
        var (exit, output) = await _system.RunAsync("model", "pull", "credit-risk", "--version", "7", "--out", _out);

        Assert.Equal(ExitCodes.Failure, exit);
        Assert.Contains("has no version 7", Assert.Single(output.Errors), StringComparison.Ordinal);
        AssertNothingWritten();
    }
}
