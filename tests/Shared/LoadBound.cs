namespace Stratus.Testing;

/// <summary>
/// The bound on a test's load loop: it runs until the test stops it, or for three minutes at most (longer than any
/// wait in a test), so that a loop never ends early on a fast machine nor runs on when a test has failed.
/// </summary>
internal static class LoadBound
{
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    /// <summary>Whether a loop started at <paramref name="startedAt"/> (a <see cref="System.Diagnostics.Stopwatch"/> timestamp) goes on.</summary>
    public static bool GoesOn(long startedAt, CancellationToken stop) =>
        !stop.IsCancellationRequested && System.Diagnostics.Stopwatch.GetElapsedTime(startedAt) < Limit;
}
