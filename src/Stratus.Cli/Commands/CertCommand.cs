using System.CommandLine;
using System.Net;
using Stratus.Cli.Interaction;
using Stratus.Core.Tls;

namespace Stratus.Cli.Commands;

/// <summary>
/// <c>stratus cert issue</c>: a certificate from the platform CA for a process that joins the platform from
/// elsewhere (a gateway in another region, a server's API): the folder it writes is what <c>--tls-dir</c> takes.
/// </summary>
internal sealed class CertCommand : Command
{
    public CertCommand(IInteraction interaction)
        : base("cert", "Certificates from the platform CA.")
    {
        var name = new Argument<string>("name") { Description = "The certificate's name (its common name and first DNS name), e.g. gateway-eu." };
        var caDir = new Option<DirectoryInfo>("--ca-dir") { Description = "The platform CA's folder (ca.crt, ca.key): a server's --platform-ca, or tls/ in the data directory of 'up'.", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write tls.crt, tls.key (0600) and ca.crt to.", Required = true };
        var dns = new Option<string[]>("--dns") { Description = "Another DNS name the certificate is valid for (repeatable).", AllowMultipleArgumentsPerToken = true };
        var ip = new Option<string[]>("--ip") { Description = "An IP address the certificate is valid for (repeatable).", AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Days the certificate is valid.", DefaultValueFactory = _ => 365 };
        var issue = new Command("issue", "Issue a certificate for serving and for calling replicas (a gateway's), written where --tls-dir reads it.") { name, caDir, output, dns, ip, days };
        issue.SetAction(parse =>
        {
            var addresses = new List<IPAddress>();
            foreach (var value in parse.GetValue(ip) ?? [])
            {
                if (!IPAddress.TryParse(value, out var address))
                {
                    interaction.Error($"--ip {value} is not an IP address");
                    return ExitCodes.InvalidArguments;
                }

                addresses.Add(address);
            }

            if (parse.GetValue(days) is < 1 or > 3650)
            {
                interaction.Error("--days must be between 1 and 3650");
                return ExitCodes.InvalidArguments;
            }

            var folder = parse.GetValue(caDir)!.FullName;
            if (!File.Exists(Path.Combine(folder, PlatformCa.KeyFile)))
            {
                interaction.Error($"no platform CA in {folder}: it needs {PlatformCa.CertificateFile} and {PlatformCa.KeyFile}");
                return ExitCodes.InvalidArguments;
            }

            try
            {
                using var ca = PlatformCa.Load(Path.Combine(folder, PlatformCa.CertificateFile), Path.Combine(folder, PlatformCa.KeyFile));
                using var certificate = ca.Issue(parse.GetValue(name)!, CertificateUse.Server | CertificateUse.Client, TimeSpan.FromDays(parse.GetValue(days)), parse.GetValue(dns), addresses);
                var target = parse.GetValue(output)!.FullName;
                PemFiles.CreatePrivateFolder(target);
                PemFiles.WriteWhole(Path.Combine(target, PlatformCa.CertificateFile), PemFiles.CertificatePem(ca.Certificate), secret: false);
                PemFiles.Write(Path.Combine(target, ReloadingCertificate.FolderCertificate), Path.Combine(target, ReloadingCertificate.FolderKey), certificate);
                interaction.Line($"issued {certificate.Subject}, valid until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC, to {target}");
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is TlsConfigurationException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                interaction.Error(e.Message);
                return ExitCodes.InvalidArguments;
            }
        });
        Subcommands.Add(issue);
    }
}
