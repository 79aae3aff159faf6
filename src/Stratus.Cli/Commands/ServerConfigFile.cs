using Stratus.ControlPlane.Yaml;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Stratus.Cli.Commands;

/// <summary>A <c>--config</c> file is unreadable or names a key <c>stratus server</c> does not know.</summary>
internal sealed class ServerConfigException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// What <c>stratus server --config FILE</c> reads: <c>store:</c> (a PostgreSQL connection string) and <c>blobs:</c> (a
/// folder, relative to the file's own folder when not absolute). Unknown keys are refused, so a typo is not ignored.
/// </summary>
internal sealed class ServerConfigFile
{
    public string? Store { get; set; }

    public string? Blobs { get; set; }

    public static async Task<ServerConfigFile> LoadAsync(string path, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ServerConfigException($"cannot read the config file {path}: {e.Message}", e);
        }

        ServerConfigFile file;
        try
        {
            file = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build().Deserialize<ServerConfigFile?>(new BoundedYamlParser(text)) ?? new ServerConfigFile();
        }
        catch (YamlException e)
        {
            throw new ServerConfigException($"{path}: {e.Message} (the keys are store and blobs)", e);
        }

        if (file.Blobs is { Length: > 0 } blobs)
        {
            file.Blobs = Path.GetFullPath(blobs, Path.GetDirectoryName(Path.GetFullPath(path))!);
        }

        return file;
    }
}
