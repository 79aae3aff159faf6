using System.Diagnostics;

namespace Stratus.Cli.Tests.Support;

/// <summary>`stratus server` as a real child process, and the address it prints once it is ready.</summary>
internal static class ServerProcess
{
    public static Process Start(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "stratus.dll"), "server" }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info)!;
    }

    public static async Task<Uri> ReadyAtAsync(Process server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await server.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("ready at ", StringComparison.Ordinal))
            {
                return new Uri(line["ready at ".Length..]);
            }
        }

        throw new InvalidOperationException("the server exited before it was ready: " + await server.StandardError.ReadToEndAsync());
    }
}
