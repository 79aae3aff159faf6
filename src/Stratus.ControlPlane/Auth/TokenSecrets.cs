using System.Security.Cryptography;
using System.Text;

namespace Stratus.ControlPlane.Auth;

/// <summary>
/// Token secrets are <c>stratus_ID_SECRET</c> with 256 random bits. Being random, a plain SHA-256 is enough to store
/// them (no salt or slow hash is needed for secrets nobody chose); lookups go by the hash alone.
/// </summary>
internal static class TokenSecrets
{
    public const string Prefix = "stratus_";

    public static (string Id, string Secret) New()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var random = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (id, $"{Prefix}{id}_{random}");
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
