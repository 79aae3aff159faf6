using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Stratus.Core.Tls;

/// <summary>
/// A certificate and key read from PEM files and read again when they change, so a renewed certificate is served
/// from the next handshake on, with no restart and no failed request. It watches the files' folder (a renewal that
/// swaps a symlink, as Kubernetes does for a mounted secret, is a change there) and also looks every
/// <see cref="PollInterval"/>, since a watcher can miss events on network and overlay file systems. A pair that
/// does not load (a renewal caught half-written, a key that does not match) keeps the previous one in use.
/// </summary>
public sealed class ReloadingCertificate : IDisposable
{
    /// <summary>The names used when a folder is given: those of a Kubernetes TLS secret.</summary>
    public const string FolderCertificate = "tls.crt";
    public const string FolderKey = "tls.key";

    private readonly string _certificateFile;
    private readonly string _keyFile;
    private readonly FileSystemWatcher? _watcher;
    private readonly Timer? _poll;
    private readonly Lock _lock = new();
    private (DateTime Certificate, DateTime Key) _stamps;
    private X509Certificate2 _current;

    private ReloadingCertificate(string certificateFile, string keyFile, bool watch)
    {
        _certificateFile = Path.GetFullPath(certificateFile);
        _keyFile = Path.GetFullPath(keyFile);
        _stamps = Stamps();
        _current = LoadPair(_certificateFile, _keyFile);
        if (!watch)
        {
            return;
        }

        var folder = Path.GetDirectoryName(_certificateFile)!;
        _watcher = new FileSystemWatcher(folder) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.CreationTime | NotifyFilters.Size };
        _watcher.Changed += (_, _) => Refresh();
        _watcher.Created += (_, _) => Refresh();
        _watcher.Renamed += (_, _) => Refresh();
        _watcher.EnableRaisingEvents = true;
        _poll = new Timer(_ => Refresh(), null, PollInterval, PollInterval);
    }

    public static TimeSpan PollInterval { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The pair in use now.</summary>
    public X509Certificate2 Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>Raised after a changed pair has been loaded.</summary>
    public event Action<X509Certificate2>? Reloaded;

    /// <summary>The pair in <paramref name="certificateFile"/> and <paramref name="keyFile"/>, watched for renewals.</summary>
    public static ReloadingCertificate FromFiles(string certificateFile, string keyFile, bool watch = true) => new(certificateFile, keyFile, watch);

    /// <summary>The pair <c>tls.crt</c> and <c>tls.key</c> in <paramref name="folder"/>, watched for renewals.</summary>
    public static ReloadingCertificate FromFolder(string folder, bool watch = true) =>
        new(Path.Combine(folder, FolderCertificate), Path.Combine(folder, FolderKey), watch);

    /// <summary>Reads the files again if they changed since the last read; what the watcher and the poll call.</summary>
    public void Refresh()
    {
        X509Certificate2 loaded;
        lock (_lock)
        {
            var stamps = Stamps();
            if (stamps == _stamps)
            {
                return;
            }

            try
            {
                loaded = LoadPair(_certificateFile, _keyFile);
            }
            catch (TlsConfigurationException)
            {
                // Half-written or mismatched: keep serving the previous pair and look again at the next change.
                return;
            }

            _stamps = stamps;
            _current = loaded;
        }

        // The previous certificate is not disposed: a handshake in flight may still be using it.
        Reloaded?.Invoke(loaded);
    }

    private (DateTime, DateTime) Stamps() => (Stamp(_certificateFile), Stamp(_keyFile));

    private static DateTime Stamp(string path)
    {
        // A symlinked secret changes its target, not the link: look at what the link points to.
        var info = new FileInfo(path);
        var target = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info : info;
        return target.Exists ? target.LastWriteTimeUtc.AddTicks(target.Length) : DateTime.MinValue;
    }

    private static X509Certificate2 LoadPair(string certificateFile, string keyFile)
    {
        try
        {
            var certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            if (!certificate.HasPrivateKey)
            {
                throw new TlsConfigurationException($"{keyFile} holds no private key for {certificateFile}");
            }

            return certificate;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new TlsConfigurationException($"the certificate {certificateFile} with key {keyFile} cannot be used: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _poll?.Dispose();
    }
}
