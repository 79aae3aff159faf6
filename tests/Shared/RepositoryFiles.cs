namespace Stratus.Testing;

/// <summary>Finds files of the repository (the sample models above all) from a test's output folder.</summary>
internal static class RepositoryFiles
{
    public static string Find(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"cannot find {relative} above {AppContext.BaseDirectory}");
    }

    public static string Model(string file) => Find(Path.Combine("models", file));
}
