using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Stratus.Core.Tls;

/// <summary>Certificates and keys as PEM files: keys 0600, every file written whole (temporary file, then rename).</summary>
public static class PemFiles
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = OwnerOnlyFile | UnixFileMode.UserExecute;

    /// <summary>The certificate's PEM (its chain is not included).</summary>
    public static string CertificatePem(X509Certificate2 certificate) => certificate.ExportCertificatePem();

    /// <summary>The private key as PKCS#8 PEM.</summary>
    public static string KeyPem(X509Certificate2 certificate) =>
        (certificate.GetECDsaPrivateKey() as AsymmetricAlgorithm ?? certificate.GetRSAPrivateKey())?.ExportPkcs8PrivateKeyPem()
        ?? throw new ArgumentException($"the certificate {certificate.Subject} has no private key", nameof(certificate));

    public static void Write(string certificateFile, string keyFile, X509Certificate2 certificate)
    {
        WriteWhole(keyFile, KeyPem(certificate), secret: true);
        WriteWhole(certificateFile, CertificatePem(certificate), secret: false);
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> in one rename; a secret is 0600 from its first byte.</summary>
    public static void WriteWhole(string path, string text, bool secret)
    {
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public static void CreatePrivateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerOnlyFolder);
        }
    }

    /// <summary>Every certificate in a PEM bundle (a CA file may hold the old and the new root during a rotation).</summary>
    public static X509Certificate2Collection ReadBundle(string path)
    {
        var bundle = new X509Certificate2Collection();
        try
        {
            bundle.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new TlsConfigurationException($"the CA bundle {path} cannot be read: {e.Message}", e);
        }

        return bundle.Count > 0 ? bundle : throw new TlsConfigurationException($"the CA bundle {path} holds no certificate");
    }
}
