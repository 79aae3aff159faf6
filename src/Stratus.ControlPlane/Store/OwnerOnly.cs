namespace Stratus.ControlPlane.Store;

/// <summary>
/// Creates the control plane's folders and files readable by their owner only: the database holds token hashes,
/// inference keys and the audit log, and the folders hold private models. Other users of the machine get nothing,
/// whatever the umask. On Windows the folder's inherited ACL applies.
/// </summary>
internal static class OwnerOnly
{
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode OthersAndGroup = ~(FolderMode | UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit);

    /// <summary>Creates <paramref name="path"/> (and any missing parents) 0700; one that exists is left as it is.</summary>
    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, FolderMode);
        }
    }

    /// <summary>
    /// Creates the data directory 0700, and takes group and other access away from one made before (by an older
    /// version, or by hand): everything below it is then out of reach even where its own mode is wider.
    /// </summary>
    public static void CreateDataDirectory(string path)
    {
        CreateFolder(path);
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & OthersAndGroup) != 0)
        {
            File.SetUnixFileMode(path, FolderMode);
        }
    }

    /// <summary>Sets <paramref name="path"/> to 0600 where it exists and is wider.</summary>
    public static void Restrict(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path) && File.GetUnixFileMode(path) != FileMode)
        {
            File.SetUnixFileMode(path, FileMode);
        }
    }

    /// <summary>Creates an empty file 0600 unless it exists (SQLite then gives its journal and WAL files the same mode).</summary>
    public static void CreateFile(string path)
    {
        var options = new FileStreamOptions { Mode = System.IO.FileMode.OpenOrCreate, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        new FileStream(path, options).Dispose();
    }
}
