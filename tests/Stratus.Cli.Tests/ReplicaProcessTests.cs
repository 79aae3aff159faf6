using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Stratus.Cli.Tests;

/// <summary>The real <c>stratus</c> executable as a child process, as a provider will start it.</summary>
[Trait("Category", "Process")]
public sealed class ReplicaProcessTests
{
    private static string RepositoryFile(string relative) => Stratus.Testing.RepositoryFiles.Find(relative);

    private static Process Start(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(RepositoryFile("models/credit-risk.onnx"))!,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stratus.dll"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info)!;
    }

    [Fact]
    public async Task Replica_ChildProcess_ServesTheDemoAndAnswersInference()
    {
        using var process = Start("replica", "--model", "credit-risk.onnx", "--name", "credit-risk", "--port", "0", "--demo");
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? address = null;
            var demo = new StringBuilder();
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("ready at ", StringComparison.Ordinal))
                {
                    address = line["ready at ".Length..];
                }

                demo.AppendLine(line);
                if (line.StartsWith("press Ctrl+C", StringComparison.Ordinal))
                {
                    break;
                }
            }

            Assert.NotNull(address);
            Assert.Contains("demo: 200", demo.ToString(), StringComparison.Ordinal);
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            using var response = await client.PostAsync("v2/models/credit-risk/infer", new StringContent(await File.ReadAllTextAsync(RepositoryFile("models/credit-risk.request.json"))));
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var labels = body.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "label");
            Assert.Equal([0L, 1L], labels.GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Replica_CorruptModel_ExitsWithModelLoadFailedAndTheReason()
    {
        using var process = Start("replica", "--model", "corrupt.onnx", "--name", "broken", "--port", "0");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var stderr = await process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(ExitCodes.ModelLoadFailed, process.ExitCode);
        Assert.Contains("ONNX Runtime cannot load 'corrupt.onnx'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replica_ModelWhoseDigestIsNotTheGivenSha256_RefusesToServeNamingBothDigests()
    {
        var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(RepositoryFile("models/credit-risk.onnx"))));
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("another model"u8));
        using var process = Start("replica", "--model", "credit-risk.onnx", "--name", "credit-risk", "--port", "0", "--sha256", expected);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var stderr = await process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(ExitCodes.ArtifactMismatch, process.ExitCode);
        Assert.Contains($"has SHA-256 {actual}, expected {expected}", stderr, StringComparison.Ordinal);
    }
}
