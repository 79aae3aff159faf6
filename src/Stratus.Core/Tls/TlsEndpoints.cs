using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Stratus.Core.Tls;

/// <summary>
/// How a listener serves TLS: its certificate (renewed in place) and, for a replica, the roots a caller's client
/// certificate must chain to. TLS 1.2 and 1.3 only; HTTP/2 is offered through ALPN by Kestrel's defaults.
/// </summary>
public sealed record ServerTls(ReloadingCertificate Certificate, PlatformTrust? ClientTrust = null)
{
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>For Kestrel's <c>ClientCertificateValidation</c>: the certificate chains to the platform roots for client use.</summary>
    public bool ValidateClient(X509Certificate2 certificate) => ClientTrust is { } trust && trust.Validates(certificate, CertificateUse.Client);
}

/// <summary>
/// How a process calls the platform's TLS listeners: the roots it trusts and, when it calls replicas, the client
/// certificate it presents. A request to a replica names the replica id as its host (see
/// <see cref="ForReplica"/>): TLS sends it as the server name and checks the replica's certificate against it, so a
/// replica is verified by its id whatever address it listens on.
/// </summary>
public sealed record ClientTls(PlatformTrust Trust, ReloadingCertificate? Certificate = null)
{
    /// <summary>Sets the handler to trust only the platform roots and to present the client certificate, read at each handshake.</summary>
    public SocketsHttpHandler Apply(SocketsHttpHandler handler)
    {
        handler.SslOptions.EnabledSslProtocols = ServerTls.Protocols;
        handler.SslOptions.CertificateChainPolicy = Trust.ChainPolicy(CertificateUse.Server);
        handler.SslOptions.CertificateRevocationCheckMode = X509RevocationMode.NoCheck;
        if (Certificate is { } certificate)
        {
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate.Current;
        }

        return handler;
    }

    /// <summary>A new handler set up by <see cref="Apply"/>.</summary>
    public SocketsHttpHandler CreateHandler() => Apply(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false });

    /// <summary>Names the replica a request goes to, so TLS checks the replica's certificate against its id.</summary>
    public static void ForReplica(HttpRequestMessage request, string replicaId) => request.Headers.Host = replicaId;
}

/// <summary>
/// The platform's side of mutual TLS with replicas, held by the process that launches them: the CA that issues each
/// replica a certificate named by its replica id, and the client certificate its own probes present.
/// </summary>
public sealed record ReplicaTls(PlatformCa Ca, ClientTls Client)
{
    /// <summary>How long a replica's certificate is valid; a replica that outlives it must be replaced (a rollout does).</summary>
    public TimeSpan ReplicaCertificateLifetime { get; init; } = TimeSpan.FromDays(90);
}
