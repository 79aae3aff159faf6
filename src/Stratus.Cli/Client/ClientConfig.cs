using System.Text.Json;

namespace Stratus.Cli.Client;

/// <summary>
/// Where the client verbs find the system: written by <c>stratus up</c> (like a kubeconfig) so that later commands
/// need no flags. It names the token's file rather than holding the token, and the CA file to trust for the
/// servers' certificates (the development CA <c>up</c> made; null trusts the machine's roots).
/// </summary>
internal sealed record ClientConfig(Uri Server, Uri? Gateway, string? TokenFile, string? CaFile = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary><c>$STRATUS_CONFIG</c>, else <c>~/.stratus/config.json</c>.</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("STRATUS_CONFIG") is { Length: > 0 } path
            ? path
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".stratus", "config.json");

    public static ClientConfig? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ClientConfig>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"the client config {path} is not valid: {e.Message}", e);
        }
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(this, Json));
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
