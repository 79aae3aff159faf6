using System.Diagnostics;
using System.Globalization;

namespace Stratus.Cli.Tests.Support;

/// <summary>
/// <c>stratus up</c> as a real child process: started with its arguments, read up to its "running;" line (two minutes
/// at most), and stopped with Ctrl+C (SIGINT) as a user would.
/// </summary>
internal sealed class UpProcess : IDisposable
{
    private UpProcess(Process process, IReadOnlyList<string> lines, Task<string> errors)
    {
        Process = process;
        Lines = lines;
        Errors = errors;
    }

    public Process Process { get; }

    /// <summary>What it printed up to its "running;" line, or up to its exit or the bound.</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>All it writes to stderr, once it has exited.</summary>
    public Task<string> Errors { get; }

    public bool IsRunning => Lines.Count > 0 && Lines[^1].StartsWith("running;", StringComparison.Ordinal);

    public static async Task<UpProcess> StartAsync(string? workingDirectory, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "stratus.dll"), "up" }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        var up = Process.Start(info)!;
        up.StandardInput.Close();
        var errors = up.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(120);

        // A pipe read does not always honour a cancellation token; WaitAsync bounds it regardless.
        while (await up.StandardOutput.ReadLineAsync().WaitAsync(deadline - DateTime.UtcNow) is { } line)
        {
            lines.Add(line);
            if (line.StartsWith("running;", StringComparison.Ordinal))
            {
                break;
            }
        }

        return new UpProcess(up, lines, errors);
    }

    /// <summary>Ctrl+C: returns what it printed afterwards, once it has exited.</summary>
    public async Task<string> InterruptAsync()
    {
        using (var interrupt = Process.Start("kill", ["-INT", Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await interrupt.WaitForExitAsync();
        }

        var rest = await Process.StandardOutput.ReadToEndAsync();
        await Process.WaitForExitAsync();
        return rest;
    }

    public void Dispose() => Process.Dispose();
}
