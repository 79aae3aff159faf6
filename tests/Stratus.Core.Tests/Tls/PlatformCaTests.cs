using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Stratus.Core.Tls;
using Stratus.Testing;

namespace Stratus.Core.Tests.Tls;

public sealed class PlatformCaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("stratus-ca-").FullName;

    [Fact]
    public void CaIsCreatedOnceWithAnOwnerOnlyKeyAndLoadedAfter()
    {
        using var first = PlatformCa.LoadOrCreate(_dir);
        using var second = PlatformCa.LoadOrCreate(_dir);

        Assert.Equal(first.Certificate.Thumbprint, second.Certificate.Thumbprint);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, PlatformCa.KeyFile)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir));
    }

    [Fact]
    public void IssuedCertificatesChainToTheirCaForTheirUseOnly()
    {
        using var ca = PlatformCa.LoadOrCreate(_dir);
        using var other = PlatformCa.LoadOrCreate(Path.Combine(_dir, "other"));
        using var replica = ca.IssueReplica("credit-risk-0a1b2c3d", TimeSpan.FromDays(1));
        using var server = ca.Issue("api", CertificateUse.Server, TimeSpan.FromDays(1), ["localhost"], [IPAddress.Loopback]);

        Assert.Equal("credit-risk-0a1b2c3d", replica.GetNameInfo(X509NameType.DnsName, forIssuer: false));
        Assert.True(ca.Trust.Validates(replica, CertificateUse.Client));
        Assert.True(ca.Trust.Validates(replica, CertificateUse.Server));
        Assert.True(ca.Trust.Validates(server, CertificateUse.Server));
        Assert.False(ca.Trust.Validates(server, CertificateUse.Client));
        Assert.False(other.Trust.Validates(replica, CertificateUse.Client));
    }

    [Fact]
    public void ExpiredCertificateIsNotValid()
    {
        using var ca = PlatformCa.LoadOrCreate(_dir);
        using var expired = ca.Issue("old", CertificateUse.Client, TimeSpan.FromMinutes(-3));

        Assert.False(ca.Trust.Validates(expired, CertificateUse.Client));
    }

    [Fact]
    public void ACorruptCaIsAClearError()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, PlatformCa.CertificateFile), "not a certificate");
        File.WriteAllText(Path.Combine(_dir, PlatformCa.KeyFile), "not a key");

        var error = Assert.Throws<TlsConfigurationException>(() => PlatformCa.LoadOrCreate(_dir));
        Assert.Contains(PlatformCa.CertificateFile, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenewedCertificateIsServedFromTheNextHandshakeAndAHalfWrittenOneIsIgnored()
    {
        using var ca = PlatformCa.LoadOrCreate(_dir);
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "server")).FullName;
        using (var first = ca.Issue("localhost", CertificateUse.Server, TimeSpan.FromDays(1)))
        {
            PemFiles.Write(Path.Combine(folder, ReloadingCertificate.FolderCertificate), Path.Combine(folder, ReloadingCertificate.FolderKey), first);
        }

        using var reloading = ReloadingCertificate.FromFolder(folder);
        var before = reloading.Current.Thumbprint;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var serving = new CancellationTokenSource();
        var server = ServeAsync(listener, reloading, serving.Token);

        Assert.Equal(before, await HandshakeAsync(listener, ca));

        File.WriteAllText(Path.Combine(folder, ReloadingCertificate.FolderCertificate), "-----BEGIN CERTIFICATE-----\nMIIB");
        reloading.Refresh();
        Assert.Equal(before, await HandshakeAsync(listener, ca));

        using var renewed = ca.Issue("localhost", CertificateUse.Server, TimeSpan.FromDays(30));
        PemFiles.Write(Path.Combine(folder, ReloadingCertificate.FolderCertificate), Path.Combine(folder, ReloadingCertificate.FolderKey), renewed);
        await Eventually.HoldsAsync(() => reloading.Current.Thumbprint == renewed.Thumbprint, "the renewed certificate is loaded", seconds: 20);
        Assert.Equal(renewed.Thumbprint, await HandshakeAsync(listener, ca));
        await serving.CancelAsync();
        listener.Stop();
        await server;
    }

    [Fact]
    public async Task AClientOutsideThePlatformIsRefusedDuringTheHandshake()
    {
        using var ca = PlatformCa.LoadOrCreate(_dir);
        using var stranger = PlatformCa.LoadOrCreate(Path.Combine(_dir, "stranger"));
        using var serverCert = ca.IssueReplica("r-1", TimeSpan.FromDays(1));
        using var strangerCert = stranger.Issue("gateway", CertificateUse.Client, TimeSpan.FromDays(1));
        var tls = new ServerTls(ReloadingCertificate.FromFiles(WriteTemp(serverCert).Cert, WriteTemp(serverCert).Key, watch: false), ca.Trust);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();

        var accept = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await using var ssl = new SslStream(socket.GetStream(), false, (_, cert, _, _) => cert is X509Certificate2 c && tls.ValidateClient(c));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = tls.Certificate.Current, ClientCertificateRequired = true, EnabledSslProtocols = ServerTls.Protocols });
        });
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        await using var clientSsl = new SslStream(client.GetStream());
        var clientTask = clientSsl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "r-1",
            CertificateChainPolicy = ca.Trust.ChainPolicy(CertificateUse.Server),
            ClientCertificates = [strangerCert],
        });

        await Assert.ThrowsAnyAsync<AuthenticationException>(() => accept);
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await clientTask;
            await clientSsl.ReadExactlyAsync(new byte[1]);
        });
    }

    private (string Cert, string Key) WriteTemp(X509Certificate2 certificate)
    {
        var cert = Path.Combine(_dir, certificate.Thumbprint + ".crt");
        var key = Path.Combine(_dir, certificate.Thumbprint + ".key");
        if (!File.Exists(cert))
        {
            PemFiles.Write(cert, key, certificate);
        }

        return (cert, key);
    }

    private static async Task ServeAsync(TcpListener listener, ReloadingCertificate certificate, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient socket;
            try
            {
                socket = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            using (socket)
            await using (var ssl = new SslStream(socket.GetStream()))
            {
                try
                {
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateSelectionCallback = (_, _) => certificate.Current, EnabledSslProtocols = ServerTls.Protocols }, cancellationToken);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or AuthenticationException)
                {
                    // The client has what it came for (the certificate) and may close before the server's side ends.
                }
            }
        }
    }

    private static async Task<string> HandshakeAsync(TcpListener listener, PlatformCa ca)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        await using var ssl = new SslStream(client.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", CertificateChainPolicy = ca.Trust.ChainPolicy(CertificateUse.Server) });
        return ((X509Certificate2)ssl.RemoteCertificate!).Thumbprint;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
