using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Stratus.Core.Tls;

/// <summary>What a certificate the platform issues is for: the extended key usages it carries.</summary>
[Flags]
public enum CertificateUse
{
    /// <summary>A listener: the control-plane API, a gateway, a replica.</summary>
    Server = 1,

    /// <summary>A caller that replicas accept: a gateway, the control plane's probes.</summary>
    Client = 2,
}

/// <summary>
/// The platform's certificate authority: an ECDSA P-256 root that issues the listeners' certificates and the
/// certificates that prove a caller is part of the platform. Replicas trust nothing else, so holding this key is
/// what makes a process part of the platform; it lives in a 0600 file next to the data.
/// </summary>
public sealed class PlatformCa : IDisposable
{
    public const string CertificateFile = "ca.crt";
    public const string KeyFile = "ca.key";

    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);
    private readonly TimeProvider _time;

    private PlatformCa(X509Certificate2 certificate, TimeProvider time)
    {
        Certificate = certificate;
        _time = time;
    }

    /// <summary>The root, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The root alone, as a client or a replica trusts it.</summary>
    public PlatformTrust Trust => new([X509CertificateLoader.LoadCertificate(Certificate.RawData)]);

    /// <summary>Loads <c>ca.crt</c> and <c>ca.key</c> from <paramref name="directory"/>, creating both on first use.</summary>
    public static PlatformCa LoadOrCreate(string directory, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var certPath = Path.Combine(directory, CertificateFile);
        var keyPath = Path.Combine(directory, KeyFile);
        if (File.Exists(certPath) || File.Exists(keyPath))
        {
            return Load(certPath, keyPath, time);
        }

        PemFiles.CreatePrivateFolder(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Stratus platform CA {Environment.MachineName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = time.GetUtcNow();
        using var self = request.CreateSelfSigned(now - Backdate, now + CaLifetime);
        PemFiles.Write(certPath, keyPath, self);
        return Load(certPath, keyPath, time);
    }

    public static PlatformCa Load(string certificateFile, string keyFile, TimeProvider? time = null)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new TlsConfigurationException($"the platform CA in {certificateFile} and {keyFile} cannot be read: {e.Message}", e);
        }

        if (certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
        {
            certificate.Dispose();
            throw new TlsConfigurationException($"{certificateFile} is not a CA certificate");
        }

        return new PlatformCa(certificate, time ?? TimeProvider.System);
    }

    /// <summary>
    /// Issues a certificate for <paramref name="name"/> (its common name and first DNS name) that is valid for
    /// <paramref name="lifetime"/>, with the other names and addresses as subject alternative names.
    /// </summary>
    public X509Certificate2 Issue(string name, CertificateUse use, TimeSpan lifetime, IEnumerable<string>? dnsNames = null, IEnumerable<IPAddress>? addresses = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        var usages = new OidCollection();
        if (use.HasFlag(CertificateUse.Server))
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        }

        if (use.HasFlag(CertificateUse.Client))
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, critical: false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in new[] { name }.Concat(dnsNames ?? []).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            san.AddDnsName(dns);
        }

        foreach (var address in addresses ?? [])
        {
            san.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var now = _time.GetUtcNow();
        var notAfter = now + lifetime < Certificate.NotAfter ? now + lifetime : new DateTimeOffset(Certificate.NotAfter.ToUniversalTime());
        using var issued = request.Create(Certificate, now - Backdate, notAfter, RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>A replica's certificate: its name is the replica id, which is what the gateway and control plane check.</summary>
    public X509Certificate2 IssueReplica(string replicaId, TimeSpan lifetime) => Issue(replicaId, CertificateUse.Server | CertificateUse.Client, lifetime);

    public void Dispose() => Certificate.Dispose();
}

/// <summary>A certificate or key that cannot be used as configured; the message names the file and the reason.</summary>
public sealed class TlsConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
