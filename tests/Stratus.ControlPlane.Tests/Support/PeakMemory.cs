namespace Stratus.ControlPlane.Tests.Support;

/// <summary>
/// This process's peak resident memory (VmHWM), reset first (writing 5 to <c>/proc/self/clear_refs</c>), so a test
/// sees how far its own work raised it. Tests that measure it run alone (<see cref="MemoryMeasuredCollection"/>).
/// </summary>
internal static class PeakMemory
{
    public static void Reset() => File.WriteAllText("/proc/self/clear_refs", "5");

    public static long ResidentBytes() => Field("VmRSS:");

    public static long PeakBytes() => Field("VmHWM:");

    private static long Field(string name)
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith(name, StringComparison.Ordinal));
        return long.Parse(line[name.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}

/// <summary>Tests that measure this process's memory, run with no other test beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasuredCollection
{
    public const string Name = "memory measured";
}
