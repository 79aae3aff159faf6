using Microsoft.Extensions.Logging;

namespace Stratus.ControlPlane.Hosting;

/// <summary>
/// Removes the <c>*.part</c> staging files a crash or a full disk left behind (a push, a blob read into the cache, a
/// model copied into a local cloud), which nothing else ever deletes: they only grow the data directory. A file is
/// removed only when it was last written before this process started and no process holds it open for writing
/// (the blob writers hold an exclusive lock), so a push that a server sharing the folder is receiving is left alone.
/// </summary>
internal static partial class StaleStagingFiles
{
    private static readonly EnumerationOptions Everywhere = new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = true,
        MatchCasing = MatchCasing.CaseSensitive,
        // Hidden files are staging files too; a link to a folder outside is not followed.
        AttributesToSkip = FileAttributes.ReparsePoint,
    };

    /// <param name="folders">Searched with their subfolders; null or empty ones (a blob folder not configured) are skipped.</param>
    /// <returns>The files removed.</returns>
    public static IReadOnlyList<string> Remove(IEnumerable<string?> folders, DateTime startedUtc, ILogger logger)
    {
        var removed = new List<string>();
        foreach (var folder in folders.OfType<string>().Where(f => f.Length > 0).Select(Path.GetFullPath).Distinct().Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*.part", Everywhere))
            {
                if (TryRemove(file, startedUtc, logger) is { } bytes)
                {
                    removed.Add(file);
                    LogRemoved(logger, file, bytes);
                }
            }
        }

        return removed;
    }

    private static long? TryRemove(string file, DateTime startedUtc, ILogger logger)
    {
        try
        {
            if (File.GetLastWriteTimeUtc(file) >= startedUtc)
            {
                return null;
            }

            // Opening it unshared fails while a writer holds it; deleting under that lock leaves no window.
            using var held = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            var bytes = held.Length;
            File.Delete(file);
            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogKept(logger, file, e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed the staging file {Path} ({Bytes} bytes), left by a run that ended before it was finished")]
    private static partial void LogRemoved(ILogger logger, string path, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kept the staging file {Path}: {Reason}")]
    private static partial void LogKept(ILogger logger, string path, string reason);
}
