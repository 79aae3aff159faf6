using System.Buffers;

namespace Stratus.Inference.Protocol;

/// <summary>
/// Arrays for bodies and tensors, held back within a bound. The shared pool keeps what it is given per thread and
/// per core, for good: a replica that refused 25 oversized bodies held 2 GB it never gave back. So only small
/// arrays use it; medium ones come from a private pool that keeps a fixed number per size, and large ones are
/// plain arrays the GC takes back.
/// </summary>
public static class BoundedArrayPool
{
    /// <summary>The largest array from the shared pool (which rounds up to a power of two, so none it hands out for this or less is larger).</summary>
    public const int MaxSharedLength = 64 * 1024;

    /// <summary>The largest array that is kept for reuse at all.</summary>
    public const int MaxPooledLength = 1024 * 1024;

    // At most 16 arrays of each size from 128 KB to 1 MB: under 32 MB held, however many requests came at once.
    private static readonly ArrayPool<byte> Medium = ArrayPool<byte>.Create(MaxPooledLength, maxArraysPerBucket: 16);

    public static byte[] Rent(int length) => length switch
    {
        <= MaxSharedLength => ArrayPool<byte>.Shared.Rent(Math.Max(length, 1)),
        <= MaxPooledLength => Medium.Rent(length),
        _ => GC.AllocateUninitializedArray<byte>(length),
    };

    public static void Return(byte[] buffer)
    {
        switch (buffer.Length)
        {
            case 0:
                break;
            case <= MaxSharedLength:
                ArrayPool<byte>.Shared.Return(buffer);
                break;
            case <= MaxPooledLength:
                Medium.Return(buffer);
                break;
        }
    }
}
