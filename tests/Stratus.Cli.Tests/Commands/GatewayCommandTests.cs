using Stratus.Cli.Tests.Support;

namespace Stratus.Cli.Tests.Commands;

/// <summary><c>stratus gateway</c>'s own arguments, refused before it listens or calls a server.</summary>
public sealed class GatewayCommandTests : IDisposable
{
    private readonly string _token = Path.Combine(Path.GetTempPath(), $"metrics-{Guid.NewGuid():N}.token");

    public void Dispose() => File.Delete(_token);

    private static Task<(int Exit, TestInteraction Output)> RunAsync(string tokenFile) =>
        CliRunner.RunAsync("gateway", "--port", "0", "--metrics-token-file", tokenFile, "--server", "http://127.0.0.1:1/", "--token", "x", "--config", tokenFile + ".config.json");

    [Fact]
    public async Task Gateway_MetricsTokenTooShort_ExitsWithInvalidArguments()
    {
        await File.WriteAllTextAsync(_token, "short\n");

        var (exit, output) = await RunAsync(_token);

        Assert.Equal(ExitCodes.InvalidArguments, exit);
        Assert.Contains("is 5 characters; use at least 16", Assert.Single(output.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_MetricsTokenFileMissing_ExitsWithInvalidArguments()
    {
        var (exit, output) = await RunAsync(_token);

        Assert.Equal(ExitCodes.InvalidArguments, exit);
        Assert.Contains("cannot read the metrics token", Assert.Single(output.Errors), StringComparison.Ordinal);
    }
}
