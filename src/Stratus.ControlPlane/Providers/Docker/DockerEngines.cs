using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet;
using Docker.DotNet.Models;
using Docker.DotNet.X509;

namespace Stratus.ControlPlane.Providers.Docker;

/// <summary>Clients of Docker Engines: over a unix socket, or over TCP with TLS client certificates.</summary>
public static class DockerEngines
{
    /// <summary>
    /// A client of the engine at <paramref name="endpoint"/>. No API version is pinned: requests go to the engine's
    /// unversioned paths, which Docker 20.10 (API 1.41) and today's engines (which no longer accept 1.41) both serve.
    /// A TCP endpoint needs <paramref name="tls"/>: the engine's certificate must chain to its CA, and ours proves who calls.
    /// </summary>
    public static DockerClient Connect(Uri endpoint, DockerTls? tls)
    {
        var builder = new DockerClientBuilder().WithEndpoint(endpoint).WithTimeout(TimeSpan.FromSeconds(100));
        if (endpoint.Scheme is "tcp" or "https")
        {
            if (tls is null)
            {
                throw new ArgumentException($"the docker engine at {endpoint} is reached over TCP, which needs TLS client certificates (tls: ca, cert, key)", nameof(tls));
            }

            var certificate = X509Certificate2.CreateFromPemFile(tls.CertificateFile, tls.KeyFile);
            var authority = X509CertificateLoader.LoadCertificateFromFile(tls.CaFile);
            builder = builder.WithAuthProvider(new CertificateCredentials(certificate)
            {
                ServerCertificateValidationCallback = (_, presented, _, errors) => TrustedBy(authority, presented, errors),
            });
        }

        return builder.Build();
    }

    /// <summary>The engine's certificate must chain to the cloud's CA (and only to it) and name the host we called.</summary>
    private static bool TrustedBy(X509Certificate2 authority, X509Certificate? presented, SslPolicyErrors errors)
    {
        if (presented is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var certificate = new X509Certificate2(presented);
        return chain.Build(certificate);
    }

    /// <summary>Loads an image archive (<c>POST /images/load</c>); the engine's own error, if any, becomes the exception's message.</summary>
    public static async Task LoadImageAsync(IDockerClient client, string archive, CancellationToken cancellationToken)
    {
        string? error = null;
        await using var stream = File.OpenRead(archive);
        await client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, stream, new Progress<JSONMessage>(m => error ??= m.Error?.Message), cancellationToken);
        if (error is not null)
        {
            throw new InvalidOperationException($"the engine did not load {archive}: {error}");
        }
    }
}
