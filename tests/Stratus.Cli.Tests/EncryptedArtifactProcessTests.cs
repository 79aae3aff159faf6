using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Stratus.Core.Crypto;

namespace Stratus.Cli.Tests;

/// <summary>
/// <c>stratus replica --artifact-key-file</c> as a child process: an encrypted model is decrypted in memory and
/// served, its SHA-256 checked on the decrypted bytes; a wrong key or a changed file is refused before anything
/// listens.
/// </summary>
[Trait("Category", "Process")]
public sealed class EncryptedArtifactProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("stratus-encrypted-").FullName;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(ArtifactEncryption.KeyBytes);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(string Model, string Key, string Sha256)> EncryptAsync()
    {
        var source = Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx");
        var model = Path.Combine(_dir, "model.onnx.enc");
        await using (var plaintext = File.OpenRead(source))
        await using (var output = File.Create(model))
        {
            await ArtifactEncryption.EncryptAsync(plaintext, output, _key);
        }

        var key = Path.Combine(_dir, "artifact.key");
        await File.WriteAllBytesAsync(key, _key);
        return (model, key, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(source))));
    }

    private static Process Start(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "stratus.dll"), "replica" }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info)!;
    }

    [Fact]
    public async Task EncryptedModel_WithItsKey_IsServedAndAnswersAsThePlainOne()
    {
        var (model, key, sha256) = await EncryptAsync();
        using var process = Start("--model", model, "--name", "credit-risk", "--port", "0", "--artifact-key-file", key, "--sha256", sha256);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? address = null;
            while (address is null && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                address = line.StartsWith("ready at ", StringComparison.Ordinal) ? line["ready at ".Length..] : null;
            }

            Assert.NotNull(address);
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            using var response = await client.PostAsync("v2/models/credit-risk/infer", new StringContent(await File.ReadAllTextAsync(Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json"))));
            var labels = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "label");
            Assert.Equal([0L, 1L], labels.GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task EncryptedModel_WrongKeyOrChangedFile_IsRefusedWithTheReason()
    {
        var (model, key, _) = await EncryptAsync();
        var wrongKey = Path.Combine(_dir, "wrong.key");
        await File.WriteAllBytesAsync(wrongKey, RandomNumberGenerator.GetBytes(ArtifactEncryption.KeyBytes));
        var changed = Path.Combine(_dir, "changed.onnx.enc");
        var bytes = await File.ReadAllBytesAsync(model);
        bytes[^40] ^= 0x20;
        await File.WriteAllBytesAsync(changed, bytes);

        foreach (var (file, keyFile) in new[] { (model, wrongKey), (changed, key) })
        {
            using var process = Start("--model", file, "--name", "credit-risk", "--port", "0", "--artifact-key-file", keyFile);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var stderr = await process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);

            Assert.Equal(ExitCodes.ArtifactMismatch, process.ExitCode);
            Assert.Contains("cannot be decrypted", stderr, StringComparison.Ordinal);
            Assert.Contains("fails authentication", stderr, StringComparison.Ordinal);
        }
    }
}
