using Stratus.Core.Tls;

namespace Stratus.Cli.Tests.Support;

/// <summary>
/// TLS for tests that run Stratus as separate processes, laid out as an operator would: the platform CA is made
/// first (servers given <c>--data-dir</c> find it in <c>tls/</c>), and a gateway gets its own certificate folder
/// (tls.crt, tls.key, ca.crt) for <c>--tls-dir</c>. Test clients trust the CA and nothing else.
/// </summary>
public sealed class ProcessTls
{
    private ProcessTls(string caDirectory, ClientTls trust)
    {
        CaDirectory = caDirectory;
        Trust = trust;
    }

    public string CaDirectory { get; }

    public ClientTls Trust { get; }

    /// <summary>The CA certificate, for a CLI verb's <c>--ca</c>.</summary>
    public string CaFile => Path.Combine(CaDirectory, PlatformCa.CertificateFile);

    /// <summary>The CA in <c>tls/</c> under <paramref name="dataDirectory"/>, where <c>stratus server</c> looks by default.</summary>
    public static ProcessTls ForDataDirectory(string dataDirectory)
    {
        var folder = Path.Combine(dataDirectory, "tls");
        using var ca = PlatformCa.LoadOrCreate(folder);
        return new ProcessTls(folder, new ClientTls(PlatformTrust.FromFile(Path.Combine(folder, PlatformCa.CertificateFile))));
    }

    /// <summary>A gateway's certificate folder for <c>--tls-dir</c>, issued by the platform CA.</summary>
    public string IssueGateway(string name)
    {
        var folder = Path.Combine(CaDirectory, "..", $"gateway-{name}");
        using var ca = PlatformCa.LoadOrCreate(CaDirectory);
        using var certificate = ca.Issue(name, CertificateUse.Server | CertificateUse.Client, TimeSpan.FromDays(1), ["localhost"], [System.Net.IPAddress.Loopback]);
        PemFiles.CreatePrivateFolder(folder);
        PemFiles.WriteWhole(Path.Combine(folder, PlatformCa.CertificateFile), PemFiles.CertificatePem(ca.Certificate), secret: false);
        PemFiles.Write(Path.Combine(folder, ReloadingCertificate.FolderCertificate), Path.Combine(folder, ReloadingCertificate.FolderKey), certificate);
        return Path.GetFullPath(folder);
    }

    /// <summary>An HTTP client that trusts the platform CA.</summary>
    public HttpClient HttpClient(Uri address) => new(Trust.CreateHandler()) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
}
