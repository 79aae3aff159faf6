using System.Diagnostics;

namespace Stratus.ControlPlane.Tests.Support;

/// <summary>Finds replica processes by their command line (which names their replica id and data folder).</summary>
internal static class ChildProcesses
{
    public static int KillMatching(string text)
    {
        var killed = 0;
        foreach (var pid in Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => int.TryParse(n, out _)))
        {
            try
            {
                if (File.ReadAllText($"/proc/{pid}/cmdline").Contains(text, StringComparison.Ordinal))
                {
                    using var process = Process.GetProcessById(int.Parse(pid!, System.Globalization.CultureInfo.InvariantCulture));
                    process.Kill();
                    process.WaitForExit();
                    killed++;
                }
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or InvalidOperationException)
            {
                // Processes come and go while we look.
            }
        }

        return killed;
    }
}
