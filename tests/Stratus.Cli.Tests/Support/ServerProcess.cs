using System.Diagnostics;

namespace Stratus.Cli.Tests.Support;

/// <summary>`stratus` (a server, a gateway) as a real child process, and the address it prints once it is ready.</summary>
internal static class ServerProcess
{
    /// <summary><c>stratus server ARGS</c>.</summary>
    public static Process Start(params string[] arguments) => Run(["server", .. arguments]);

    /// <summary><c>stratus ARGS</c>, any verb, with its output redirected.</summary>
    public static Process Run(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stratus.dll"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info)!;
    }

    /// <summary>Reads standard output (a minute at most) up to the "ready at URL" line.</summary>
    public static async Task<Uri> ReadyAtAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("ready at ", StringComparison.Ordinal))
            {
                return new Uri(line["ready at ".Length..]);
            }
        }

        throw new InvalidOperationException($"stratus {string.Join(' ', process.StartInfo.ArgumentList.Skip(1))} exited before it was ready: " + await process.StandardError.ReadToEndAsync());
    }
}
