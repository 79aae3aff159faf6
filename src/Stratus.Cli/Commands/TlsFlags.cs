using System.CommandLine;
using Stratus.ControlPlane.Hosting;
using Stratus.Core.Tls;

namespace Stratus.Cli.Commands;

/// <summary>
/// The TLS options of the verbs that listen (<c>up</c>, <c>server</c>, <c>gateway</c>). TLS is the default: plain
/// HTTP needs <c>--insecure</c>, and contradicts any certificate option.
/// </summary>
internal static class TlsFlags
{
    public static Option<bool> Insecure() => new("--insecure") { Description = "Serve plain HTTP instead of HTTPS. For debugging only." };

    public static Option<DirectoryInfo> ListenerFolder(string description) => new("--tls-dir") { Description = description };

    public static Option<DirectoryInfo> PlatformCa() => new("--platform-ca")
    {
        Description = "A folder with the platform CA (ca.crt, ca.key) that issues replica certificates; servers of one installation share it. Default: a development CA in the data directory.",
    };

    /// <summary>
    /// The control plane's certificates for <c>server</c> and <c>up</c>: the CA in <paramref name="caFolder"/>
    /// (default: <c>tls/</c> in the data directory, created on first start) and the leaf certificates under
    /// <c>tls/</c>; null with <paramref name="insecure"/>.
    /// </summary>
    public static PlatformTlsFiles? Prepare(string dataDirectory, string host, bool insecure, DirectoryInfo? caFolder, DirectoryInfo? listenerFolder)
    {
        if (insecure)
        {
            return caFolder is not null || listenerFolder is not null
                ? throw new TlsConfigurationException("--insecure serves plain HTTP; it cannot be combined with --platform-ca or --tls-dir")
                : null;
        }

        var tls = Path.Combine(dataDirectory, "tls");
        return PlatformTlsFiles.Prepare(caFolder?.FullName ?? tls, tls, host, listenerFolder?.FullName);
    }
}
