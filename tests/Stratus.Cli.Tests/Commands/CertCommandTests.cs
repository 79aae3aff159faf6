using System.Net;
using System.Security.Cryptography.X509Certificates;
using Stratus.Cli.Tests.Support;
using Stratus.Core.Tls;

namespace Stratus.Cli.Tests.Commands;

/// <summary><c>stratus cert issue</c>, and the TLS arguments of <c>gateway</c> and <c>server</c> refused before anything listens.</summary>
public sealed class CertCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("stratus-cert-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Issue_FromThePlatformCa_WritesWhatTlsDirReads()
    {
        var caDir = Path.Combine(_dir, "ca");
        using var ca = PlatformCa.LoadOrCreate(caDir);
        var output = Path.Combine(_dir, "gateway-eu");

        var (exit, result) = await CliRunner.RunAsync("cert", "issue", "gateway-eu", "--ca-dir", caDir, "--out", output, "--dns", "gw.example.internal", "--ip", "10.0.0.7", "--days", "30");

        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("issued CN=gateway-eu", Assert.Single(result.Lines), StringComparison.Ordinal);
        using var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(output, "tls.crt"), Path.Combine(output, "tls.key"));
        var trust = PlatformTrust.FromFile(Path.Combine(output, "ca.crt"));
        Assert.True(trust.Validates(certificate, CertificateUse.Server));
        Assert.True(trust.Validates(certificate, CertificateUse.Client));
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["gateway-eu", "gw.example.internal"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Parse("10.0.0.7")], names.EnumerateIPAddresses());
        Assert.InRange(certificate.NotAfter.ToUniversalTime(), DateTime.UtcNow.AddDays(29), DateTime.UtcNow.AddDays(31));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(output, "tls.key")));
        }
    }

    [Theory]
    [InlineData("--ip", "not-an-address", "is not an IP address")]
    [InlineData("--days", "0", "--days must be between 1 and 3650")]
    public async Task Issue_BadArguments_AreRefusedAndWriteNothing(string option, string value, string expected)
    {
        var caDir = Path.Combine(_dir, "ca");
        using (PlatformCa.LoadOrCreate(caDir))
        {
        }

        var output = Path.Combine(_dir, "out");
        var (exit, result) = await CliRunner.RunAsync("cert", "issue", "gw", "--ca-dir", caDir, "--out", output, option, value);

        Assert.Equal(ExitCodes.InvalidArguments, exit);
        Assert.Contains(expected, Assert.Single(result.Errors), StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task Issue_NoCaInTheFolder_IsAClearError()
    {
        var (exit, result) = await CliRunner.RunAsync("cert", "issue", "gw", "--ca-dir", _dir, "--out", Path.Combine(_dir, "out"));

        Assert.Equal(ExitCodes.InvalidArguments, exit);
        Assert.Contains("no platform CA in", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_NeitherTlsDirNorInsecure_IsRefused()
    {
        var (exit, result) = await CliRunner.RunAsync("gateway", "--port", "0", "--server", "https://127.0.0.1:1/", "--token", "x", "--config", Path.Combine(_dir, "config.json"));

        Assert.Equal(ExitCodes.InvalidArguments, exit);
        Assert.Contains("give --tls-dir", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_InsecureWithACertificateFolder_IsRefused()
    {
        var (exit, result) = await CliRunner.RunAsync("server", "--data-dir", Path.Combine(_dir, "data"), "--port", "0", "--insecure", "--tls-dir", _dir);

        Assert.Equal(ExitCodes.InvalidArguments, exit);
        Assert.Contains("cannot be combined", Assert.Single(result.Errors), StringComparison.Ordinal);
    }
}
