using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Stratus.ControlPlane.Hosting;
using Stratus.Core.Tls;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Hosting;

/// <summary>
/// The API over TLS with real handshakes on loopback: the development certificates, the platform CA as the only
/// trust, HTTP/2 when offered, plain HTTP refused, and a renewed certificate served without a restart.
/// </summary>
public sealed class TlsListenerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"stratus-tls-{Guid.NewGuid():N}");

    public void Dispose()
    {
        ChildProcesses.KillMatching(_root);
        Directory.Delete(_root, recursive: true);
    }

    private async Task<(ControlPlaneHost Host, PlatformTlsFiles Tls)> StartAsync(string? listenerFolder = null)
    {
        var data = Path.Combine(_root, "data");
        var tls = PlatformTlsFiles.Prepare(Path.Combine(data, "tls"), Path.Combine(data, "tls"), "127.0.0.1", listenerFolder);
        var host = await ControlPlaneHost.StartAsync(
            new ControlPlaneOptions { DataDirectory = data, Port = 0, Replica = Support.TestReplicas.Executable, ReconcilePeriod = TimeSpan.FromMinutes(10), Tls = tls.Listener, ReplicaTls = tls.Replicas },
            _ => { });
        return (host, tls);
    }

    [Fact]
    public async Task Api_OverTls_AnswersAClientThatTrustsThePlatformCaOverHttp2()
    {
        var (host, tls) = await StartAsync();
        await using (host)
        using (tls)
        {
            Assert.Equal("https", host.Address.Scheme);
            using var client = new HttpClient(new ClientTls(PlatformTrust.FromFile(tls.CaFile)).CreateHandler()) { BaseAddress = host.Address, DefaultRequestVersion = HttpVersion.Version20 };

            using var answer = await client.GetAsync("api/v1/openapi.json");

            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(HttpVersion.Version20, answer.Version);
        }
    }

    [Fact]
    public async Task Api_OverTls_RefusesClientsThatDoNotTrustItAndPlainHttp()
    {
        var (host, tls) = await StartAsync();
        await using (host)
        using (tls)
        {
            using var stranger = PlatformCa.LoadOrCreate(Path.Combine(_root, "stranger"));
            using var untrusting = new HttpClient(new ClientTls(stranger.Trust).CreateHandler()) { BaseAddress = host.Address };
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync("api/v1/openapi.json"));
            Assert.IsType<AuthenticationException>(refused.InnerException);

            using var machineRoots = new HttpClient { BaseAddress = host.Address };
            var unknown = await Assert.ThrowsAsync<HttpRequestException>(() => machineRoots.GetAsync("api/v1/openapi.json"));
            Assert.IsType<AuthenticationException>(unknown.InnerException);

            using var plain = new HttpClient();
            var plainAddress = new UriBuilder(host.Address) { Scheme = "http" }.Uri;
            // Kestrel closes a connection whose first bytes are not a TLS handshake: no answer at all.
            await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(new Uri(plainAddress, "api/v1/openapi.json")));
        }
    }

    [Fact]
    public async Task Api_CertificateRenewedInItsFolder_IsServedWithoutARestartOrAFailedRequest()
    {
        var listener = Path.Combine(_root, "listener");
        using var ca = PlatformCa.LoadOrCreate(Path.Combine(_root, "data", "tls"));
        using (var first = ca.Issue("localhost", CertificateUse.Server, TimeSpan.FromDays(2), addresses: [IPAddress.Loopback]))
        {
            PemFiles.CreatePrivateFolder(listener);
            PemFiles.Write(Path.Combine(listener, "tls.crt"), Path.Combine(listener, "tls.key"), first);
        }

        var (host, tls) = await StartAsync(listener);
        await using (host)
        using (tls)
        {
            var trust = new ClientTls(PlatformTrust.FromFile(tls.CaFile));
            using var renewed = ca.Issue("localhost", CertificateUse.Server, TimeSpan.FromDays(90), addresses: [IPAddress.Loopback]);
            using var stop = new CancellationTokenSource();
            var failures = 0;
            var answered = 0;
            var calling = Task.Run(async () =>
            {
                for (var begun = System.Diagnostics.Stopwatch.GetTimestamp(); LoadBound.GoesOn(begun, stop.Token);)
                {
                    // A new connection each time, so each request is a new handshake.
                    using var client = new HttpClient(trust.CreateHandler()) { BaseAddress = host.Address };
                    try
                    {
                        using var answer = await client.GetAsync("api/v1/openapi.json");
                        if (answer.IsSuccessStatusCode)
                        {
                            Interlocked.Increment(ref answered);
                        }
                        else
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                    catch (HttpRequestException)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            });

            await Eventually.HoldsAsync(() => Volatile.Read(ref answered) > 3, "requests answered with the first certificate");
            PemFiles.Write(Path.Combine(listener, "tls.crt"), Path.Combine(listener, "tls.key"), renewed);
            await Eventually.HoldsAsync(async () => await ServedThumbprintAsync(host.Address, trust) == renewed.Thumbprint, "the renewed certificate is served", seconds: 30);
            var afterRenewal = Volatile.Read(ref answered);
            await Eventually.HoldsAsync(() => Volatile.Read(ref answered) > afterRenewal + 3, "requests answered with the renewed certificate");
            await stop.CancelAsync();
            await calling;

            Assert.Equal(0, failures);
        }
    }

    [Fact]
    public void Prepare_AgainWithTheSameCa_KeepsTheCertificatesAndReissuesOnlyForANewHost()
    {
        var folder = Path.Combine(_root, "tls");
        string first;
        using (var tls = PlatformTlsFiles.Prepare(folder, folder, "127.0.0.1"))
        {
            first = tls.Listener.Certificate.Current.Thumbprint;
        }

        using (var again = PlatformTlsFiles.Prepare(folder, folder, "127.0.0.1"))
        {
            Assert.Equal(first, again.Listener.Certificate.Current.Thumbprint);
        }

        using var moved = PlatformTlsFiles.Prepare(folder, folder, "10.1.2.3");
        Assert.NotEqual(first, moved.Listener.Certificate.Current.Thumbprint);
        var names = moved.Listener.Certificate.Current.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains(IPAddress.Parse("10.1.2.3"), names.EnumerateIPAddresses());
        Assert.Contains(IPAddress.Loopback, names.EnumerateIPAddresses());
    }

    private static async Task<string?> ServedThumbprintAsync(Uri address, ClientTls trust)
    {
        string? seen = null;
        var handler = trust.CreateHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            seen = (certificate as X509Certificate2)?.Thumbprint;
            return errors == System.Net.Security.SslPolicyErrors.None;
        };
        using var client = new HttpClient(handler) { BaseAddress = address };
        using var answer = await client.GetAsync("api/v1/openapi.json");
        return seen;
    }
}
