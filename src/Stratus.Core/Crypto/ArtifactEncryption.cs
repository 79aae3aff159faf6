using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Stratus.Core.Crypto;

/// <summary>
/// A model file encrypted at rest in a cloud (<c>encryptArtifacts: true</c>): AES-256-GCM in 64 KiB chunks, so a
/// file of any size streams through with bounded memory and a changed, reordered, cut or extended file is refused.
/// Layout: the 8-byte magic <c>STRENC1\0</c>, the chunk size (4 bytes, big-endian) and an 8-byte random nonce
/// prefix (the header, 20 bytes); then each chunk's ciphertext followed by its 16-byte tag. A chunk's nonce is the
/// prefix and its index (4 bytes, big-endian); its associated data is the header and one byte that is 1 on the last
/// chunk only (which may be empty), so the end of the file is authenticated too.
/// </summary>
public static class ArtifactEncryption
{
    public const int KeyBytes = 32;
    public const int ChunkBytes = 64 * 1024;
    private const int TagBytes = 16;
    private const int HeaderBytes = 20;
    private static ReadOnlySpan<byte> Magic => "STRENC1\0"u8;

    /// <summary>Whether <paramref name="path"/> starts as an encrypted artifact does.</summary>
    public static bool IsEncrypted(string path)
    {
        Span<byte> start = stackalloc byte[8];
        using var file = File.OpenRead(path);
        return file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && start.SequenceEqual(Magic);
    }

    public static async Task EncryptAsync(Stream plaintext, Stream output, ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        CheckKey(key.Span);
        var header = new byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), ChunkBytes);
        RandomNumberGenerator.Fill(header.AsSpan(12));
        await output.WriteAsync(header, cancellationToken);

        using var gcm = new AesGcm(key.Span, TagBytes);
        var current = new byte[ChunkBytes];
        var next = new byte[ChunkBytes];
        var sealedChunk = new byte[ChunkBytes + TagBytes];
        var filled = await plaintext.ReadAtLeastAsync(current, ChunkBytes, throwOnEndOfStream: false, cancellationToken);
        for (var index = 0; ; index++)
        {
            // Read ahead one chunk: a chunk is the last when nothing follows it.
            var following = filled == ChunkBytes ? await plaintext.ReadAtLeastAsync(next, ChunkBytes, throwOnEndOfStream: false, cancellationToken) : 0;
            var last = following == 0;
            Seal(gcm, header, index, last, current.AsSpan(0, filled), sealedChunk);
            await output.WriteAsync(sealedChunk.AsMemory(0, filled + TagBytes), cancellationToken);
            if (last)
            {
                return;
            }

            (current, next) = (next, current);
            filled = following;
        }
    }

    /// <summary>Decrypts a whole artifact into memory (where ONNX Runtime loads it from): the plaintext never touches a disk.</summary>
    public static byte[] Decrypt(Stream encrypted, ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        var header = new byte[HeaderBytes];
        if (encrypted.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) != HeaderBytes || !header.AsSpan(0, 8).SequenceEqual(Magic))
        {
            throw new ArtifactDecryptionException("the artifact is not an encrypted Stratus artifact (its header is missing)");
        }

        var chunkBytes = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(8));
        if (chunkBytes is < 1 or > 16 * 1024 * 1024)
        {
            throw new ArtifactDecryptionException($"the artifact's chunk size {chunkBytes} is not valid");
        }

        using var gcm = new AesGcm(key, TagBytes);
        using var plaintext = new MemoryStream();
        var sealedChunk = new byte[chunkBytes + TagBytes];
        var opened = new byte[chunkBytes];
        for (var index = 0; ; index++)
        {
            var read = encrypted.ReadAtLeast(sealedChunk, sealedChunk.Length, throwOnEndOfStream: false);
            if (read < TagBytes)
            {
                throw new ArtifactDecryptionException($"the artifact ends inside chunk {index}: it was cut short");
            }

            var last = read < sealedChunk.Length || encrypted.Position == encrypted.Length;
            if (!Open(gcm, header, index, last, sealedChunk.AsSpan(0, read), opened))
            {
                throw new ArtifactDecryptionException(last
                    ? $"chunk {index} of the artifact fails authentication: the file was changed or cut short, or the key is not this deployment's"
                    : $"chunk {index} of the artifact fails authentication: the file was changed, or the key is not this deployment's");
            }

            plaintext.Write(opened, 0, read - TagBytes);
            if (last)
            {
                return plaintext.ToArray();
            }
        }
    }

    private static void Seal(AesGcm gcm, byte[] header, int index, bool last, ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> associated = stackalloc byte[HeaderBytes + 1];
        Context(header, index, last, nonce, associated);
        gcm.Encrypt(nonce, plaintext, output[..plaintext.Length], output.Slice(plaintext.Length, TagBytes), associated);
    }

    private static bool Open(AesGcm gcm, byte[] header, int index, bool last, ReadOnlySpan<byte> sealedChunk, Span<byte> output)
    {
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> associated = stackalloc byte[HeaderBytes + 1];
        Context(header, index, last, nonce, associated);
        var length = sealedChunk.Length - TagBytes;
        try
        {
            gcm.Decrypt(nonce, sealedChunk[..length], sealedChunk.Slice(length, TagBytes), output[..length], associated);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private static void Context(byte[] header, int index, bool last, Span<byte> nonce, Span<byte> associated)
    {
        header.AsSpan(12, 8).CopyTo(nonce);
        BinaryPrimitives.WriteInt32BigEndian(nonce[8..], index);
        header.CopyTo(associated);
        associated[HeaderBytes] = last ? (byte)1 : (byte)0;
    }

    private static void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyBytes)
        {
            throw new ArgumentException($"an artifact key is {KeyBytes} bytes, not {key.Length}", nameof(key));
        }
    }
}

/// <summary>An encrypted artifact that cannot be opened with the key given; the message says which check failed.</summary>
public sealed class ArtifactDecryptionException(string message) : Exception(message);
