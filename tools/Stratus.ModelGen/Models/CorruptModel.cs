using Stratus.ModelGen.Numerics;
using Stratus.ModelGen.Output;

namespace Stratus.ModelGen.Models;

/// <summary>
/// corrupt.onnx: not a model. A real model's first bytes (so it looks plausible and passes a
/// magic/extension sniff) followed by seeded garbage, for "corrupt model refused" tests.
/// <see cref="Write"/> checks that the top-level message cannot be walked to its end (a field's
/// declared length runs past end of file, or a wire type is invalid), so every protobuf parser
/// rejects it rather than by luck of the garbage.
/// </summary>
internal static class CorruptModel
{
    public const string FileName = "corrupt.onnx";
    public const string Summary =
        "Not a model: the first 200 bytes of credit-risk.onnx followed by seeded garbage; loading it must fail.";

    private const int PrefixLength = 200;
    private const int GarbageLength = 312;
    private const int Seed = 0x0BAD;

    public static void Write(OutputDirectory output, byte[] validModel)
    {
        var bytes = new byte[PrefixLength + GarbageLength];
        validModel.AsSpan(0, PrefixLength).CopyTo(bytes);
        new RandomSource(Seed).NextBytes(bytes.AsSpan(PrefixLength));
        if (IsWellFormedMessage(bytes))
        {
            throw new InvalidOperationException($"{FileName} would parse as a protobuf message; change the seed or lengths.");
        }

        output.WriteBytes(FileName, bytes);
    }

    /// <summary>Walks top-level fields; true only if every field is valid and ends exactly at end of input.</summary>
    private static bool IsWellFormedMessage(ReadOnlySpan<byte> bytes)
    {
        var position = 0;
        while (position < bytes.Length)
        {
            if (!TryReadVarint(bytes, ref position, out var tag) || tag >> 3 == 0)
            {
                return false;
            }

            switch (tag & 7)
            {
                case 0:
                    if (!TryReadVarint(bytes, ref position, out _))
                    {
                        return false;
                    }

                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    if (!TryReadVarint(bytes, ref position, out var length) || length > (ulong)(bytes.Length - position))
                    {
                        return false;
                    }

                    position += (int)length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    // Groups (3, 4) are not used by ONNX; 6 and 7 are not wire types at all.
                    return false;
            }
        }

        return position == bytes.Length;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < bytes.Length; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
