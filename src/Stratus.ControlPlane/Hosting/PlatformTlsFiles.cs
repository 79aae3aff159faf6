using System.Net;
using System.Security.Cryptography.X509Certificates;
using Stratus.Core.Tls;

namespace Stratus.ControlPlane.Hosting;

/// <summary>
/// The certificates a control plane runs with, kept as files so a renewal is a file change: the platform CA (its
/// own folder, shared by every server of one installation), the API's certificate (<c>server/</c>) and the client
/// certificate its probes present to replicas (<c>platform/</c>). <c>stratus up</c> and a <c>stratus server</c>
/// given no certificates make a development CA in the data directory; each certificate is issued again when it is
/// missing, from another CA, within <see cref="RenewBefore"/> of expiry, or (the API's) not naming the bound host.
/// </summary>
public sealed class PlatformTlsFiles : IDisposable
{
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);
    private static readonly TimeSpan LeafLifetime = TimeSpan.FromDays(365);

    private PlatformTlsFiles(PlatformCa ca, string caFile, ServerTls listener, ReplicaTls replicas)
    {
        Ca = ca;
        CaFile = caFile;
        Listener = listener;
        Replicas = replicas;
    }

    public PlatformCa Ca { get; }

    /// <summary>The CA's certificate, which clients trust (the client config names it).</summary>
    public string CaFile { get; }

    /// <summary>The API's (and, under <c>up</c>, the gateway's) listener certificate.</summary>
    public ServerTls Listener { get; }

    public ReplicaTls Replicas { get; }

    /// <summary>
    /// Loads (or creates) the CA in <paramref name="caDirectory"/> and the leaf certificates under
    /// <paramref name="directory"/>; <paramref name="listenerFolder"/>, when given, is a watched folder with the
    /// API's own <c>tls.crt</c> and <c>tls.key</c> (from any CA) used instead of an issued one.
    /// </summary>
    public static PlatformTlsFiles Prepare(string caDirectory, string directory, string host, string? listenerFolder = null, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var ca = PlatformCa.LoadOrCreate(caDirectory, time);
        PemFiles.CreatePrivateFolder(directory);
        var serverFolder = listenerFolder ?? Path.Combine(directory, "server");
        if (listenerFolder is null)
        {
            var (dns, addresses) = ListenerNames(host);
            Ensure(ca, serverFolder, time, current => dns.All(d => Names(current).Dns.Contains(d)) && addresses.All(a => Names(current).Addresses.Contains(a)),
                () => ca.Issue("localhost", CertificateUse.Server, LeafLifetime, dns, addresses));
        }

        var platformFolder = Path.Combine(directory, "platform");
        Ensure(ca, platformFolder, time, _ => true, () => ca.Issue("stratus-platform", CertificateUse.Client, LeafLifetime));
        var caFile = Path.Combine(caDirectory, PlatformCa.CertificateFile);
        var trust = PlatformTrust.FromFile(caFile);
        var listener = new ServerTls(ReloadingCertificate.FromFolder(serverFolder));
        var replicas = new ReplicaTls(ca, new ClientTls(trust, ReloadingCertificate.FromFolder(platformFolder)));
        return new PlatformTlsFiles(ca, caFile, listener, replicas);
    }

    /// <summary>The names a listener bound to <paramref name="host"/> answers to: loopback and this machine always, and the host itself.</summary>
    private static (List<string> Dns, List<IPAddress> Addresses) ListenerNames(string host)
    {
        List<string> dns = ["localhost"];
        if (Uri.CheckHostName(Environment.MachineName) == UriHostNameType.Dns)
        {
            dns.Add(Environment.MachineName.ToLowerInvariant());
        }

        List<IPAddress> addresses = [IPAddress.Loopback, IPAddress.IPv6Loopback];
        if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
        {
            if (!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !addresses.Contains(address))
            {
                addresses.Add(address);
            }
        }
        else if (host is not ("*" or "+") && !dns.Contains(host, StringComparer.OrdinalIgnoreCase))
        {
            dns.Add(host.ToLowerInvariant());
        }

        return (dns, addresses);
    }

    private static (HashSet<string> Dns, HashSet<IPAddress> Addresses) Names(X509Certificate2 certificate)
    {
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        return san is null ? ([], []) : ([.. san.EnumerateDnsNames()], [.. san.EnumerateIPAddresses()]);
    }

    private static void Ensure(PlatformCa ca, string folder, TimeProvider time, Func<X509Certificate2, bool> fits, Func<X509Certificate2> issue)
    {
        var certificateFile = Path.Combine(folder, ReloadingCertificate.FolderCertificate);
        var keyFile = Path.Combine(folder, ReloadingCertificate.FolderKey);
        if (File.Exists(certificateFile) && File.Exists(keyFile))
        {
            try
            {
                using var current = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
                if (ca.Trust.Validates(current, current.Extensions.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages["1.3.6.1.5.5.7.3.1"] is not null) ? CertificateUse.Server : CertificateUse.Client)
                    && current.NotAfter.ToUniversalTime() - time.GetUtcNow().UtcDateTime > RenewBefore
                    && fits(current))
                {
                    return;
                }
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // Unreadable: issued again below.
            }
        }

        PemFiles.CreatePrivateFolder(folder);
        using var issued = issue();
        PemFiles.Write(certificateFile, keyFile, issued);
    }

    public void Dispose()
    {
        Listener.Certificate.Dispose();
        Replicas.Client.Certificate?.Dispose();
        Ca.Dispose();
    }
}
