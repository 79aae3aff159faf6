using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Stratus.Core.Tls;

/// <summary>
/// The roots a process trusts for the platform's own links: the platform CA (or, during a CA rotation, the old and
/// the new one). Chains are built against these roots only, never the machine's store, so a certificate from a
/// public CA is no proof of being part of the platform.
/// </summary>
public sealed class PlatformTrust(X509Certificate2Collection roots)
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    public X509Certificate2Collection Roots { get; } = roots;

    public static PlatformTrust FromFile(string caBundle) => new(PemFiles.ReadBundle(caBundle));

    /// <summary>The chain policy for <see cref="SslClientAuthenticationOptions.CertificateChainPolicy"/>: these roots, no revocation lookups.</summary>
    public X509ChainPolicy ChainPolicy(CertificateUse use)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(Roots);
        policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(use == CertificateUse.Client ? ClientAuth : ServerAuth));
        return policy;
    }

    /// <summary>Whether <paramref name="certificate"/> chains to these roots and may be used for <paramref name="use"/>.</summary>
    public bool Validates(X509Certificate2 certificate, CertificateUse use)
    {
        using var chain = new X509Chain { ChainPolicy = ChainPolicy(use) };
        try
        {
            return chain.Build(certificate);
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }
}
