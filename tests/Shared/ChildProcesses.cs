using System.Diagnostics;

namespace Stratus.Testing;

/// <summary>Finds replica processes by their command line (which names their replica id and data folder).</summary>
internal static class ChildProcesses
{
    /// <summary>Kills every process whose command line contains <paramref name="text"/>; returns how many.</summary>
    public static int KillMatching(string text)
    {
        var killed = 0;
        foreach (var pid in Matching(c => c.Contains(text, StringComparison.Ordinal)))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                process.WaitForExit();
                killed++;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // It ended while we looked.
            }
        }

        return killed;
    }

    /// <summary>Ids of the processes whose command line (arguments joined by spaces) satisfies the predicate.</summary>
    public static IReadOnlyList<int> Matching(Func<string, bool> commandLine) => [.. Running(commandLine).Select(p => p.Pid)];

    /// <summary>The command lines (arguments joined by spaces) of the processes that satisfy the predicate.</summary>
    public static IReadOnlyList<string> CommandLines(Func<string, bool> commandLine) => [.. Running(commandLine).Select(p => p.CommandLine)];

    private static List<(int Pid, string CommandLine)> Running(Func<string, bool> commandLine)
    {
        var found = new List<(int, string)>();
        foreach (var entry in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
            {
                continue;
            }

            try
            {
                var line = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                if (commandLine(line))
                {
                    found.Add((pid, line));
                }
            }
            catch (IOException)
            {
                // Processes come and go while we look.
            }
        }

        return found;
    }
}
