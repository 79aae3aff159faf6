using System.Security.Cryptography;
using Stratus.Core.Crypto;

namespace Stratus.Core.Tests.Crypto;

public sealed class ArtifactEncryptionTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(ArtifactEncryption.KeyBytes);

    private static async Task<byte[]> EncryptAsync(byte[] plaintext, byte[]? key = null)
    {
        using var output = new MemoryStream();
        await ArtifactEncryption.EncryptAsync(new MemoryStream(plaintext), output, key ?? Key);
        return output.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(ArtifactEncryption.ChunkBytes)]
    [InlineData(ArtifactEncryption.ChunkBytes * 3)]
    [InlineData((ArtifactEncryption.ChunkBytes * 2) + 17)]
    public async Task RoundTrip_AnySize_GivesTheSameBytesAndHidesThem(int size)
    {
        var plaintext = RandomNumberGenerator.GetBytes(size);

        var encrypted = await EncryptAsync(plaintext);

        Assert.Equal(plaintext, ArtifactEncryption.Decrypt(new MemoryStream(encrypted), Key));
        if (size >= 64)
        {
            Assert.Equal(-1, encrypted.AsSpan().IndexOf(plaintext.AsSpan(0, 64)));
        }
    }

    [Fact]
    public async Task SameFileTwice_IsEncryptedDifferently()
    {
        var plaintext = RandomNumberGenerator.GetBytes(1000);

        Assert.NotEqual(await EncryptAsync(plaintext), await EncryptAsync(plaintext));
    }

    [Fact]
    public async Task WrongKey_IsRefused()
    {
        var encrypted = await EncryptAsync(RandomNumberGenerator.GetBytes(5000));

        var error = Assert.Throws<ArtifactDecryptionException>(() => ArtifactEncryption.Decrypt(new MemoryStream(encrypted), RandomNumberGenerator.GetBytes(32)));
        Assert.Contains("chunk 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangedCutExtendedOrReorderedFiles_AreRefused()
    {
        var encrypted = await EncryptAsync(RandomNumberGenerator.GetBytes(ArtifactEncryption.ChunkBytes * 3));
        var sealedChunk = ArtifactEncryption.ChunkBytes + 16;

        var flipped = (byte[])encrypted.Clone();
        flipped[100] ^= 1;
        var cutAtChunk = encrypted[..(20 + (2 * sealedChunk))];
        var cutInside = encrypted[..(encrypted.Length - 5)];
        byte[] extended = [.. encrypted, 0, 1, 2];
        var swapped = (byte[])encrypted.Clone();
        encrypted.AsSpan(20, sealedChunk).CopyTo(swapped.AsSpan(20 + sealedChunk));
        encrypted.AsSpan(20 + sealedChunk, sealedChunk).CopyTo(swapped.AsSpan(20));

        foreach (var tampered in new[] { flipped, cutAtChunk, cutInside, extended, swapped, encrypted[..10] })
        {
            Assert.Throws<ArtifactDecryptionException>(() => ArtifactEncryption.Decrypt(new MemoryStream(tampered), Key));
        }
    }

    [Fact]
    public void PlainFile_IsNotAnEncryptedArtifact()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, [8, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
            Assert.False(ArtifactEncryption.IsEncrypted(path));
            Assert.Throws<ArtifactDecryptionException>(() => ArtifactEncryption.Decrypt(File.OpenRead(path), Key));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
