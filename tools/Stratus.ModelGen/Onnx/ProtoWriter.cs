using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Stratus.ModelGen.Onnx;

/// <summary>
/// A minimal protobuf wire-format encoder covering exactly what ONNX needs: varints,
/// fixed32 floats, length-delimited bytes/strings/sub-messages and packed repeated scalars.
/// Fields are written in the order the caller emits them, so output is fully deterministic.
/// </summary>
internal sealed class ProtoWriter
{
    private const int WireVarint = 0;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    private readonly ArrayBufferWriter<byte> _buffer = new();

    /// <summary>int32/int64/enum/bool fields. Negative values are sign-extended to 10 bytes, as the spec requires.</summary>
    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireVarint);
        WriteRawVarint(unchecked((ulong)value));
    }

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireFixed32);
        WriteRawFixed32(BitConverter.SingleToUInt32Bits(value));
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, WireLengthDelimited);
        WriteRawVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    /// <summary>
    /// Writes a sub-message. The body is encoded into its own buffer first because the
    /// length prefix must precede it; an empty body is still written (an empty
    /// TensorShapeProto is how ONNX says "rank 0", which differs from "no shape").
    /// </summary>
    public void WriteMessage(int field, Action<ProtoWriter> writeBody)
    {
        var nested = new ProtoWriter();
        writeBody(nested);
        WriteBytes(field, nested.AsSpan());
    }

    /// <summary>Packed repeated int64 (proto parsers accept packed encoding even for proto2 fields).</summary>
    public void WritePackedInt64(int field, IReadOnlyList<long> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        var body = new ProtoWriter();
        foreach (var value in values)
        {
            body.WriteRawVarint(unchecked((ulong)value));
        }

        WriteBytes(field, body.AsSpan());
    }

    /// <summary>Packed repeated float: consecutive little-endian fixed32 values.</summary>
    public void WritePackedFloat(int field, IReadOnlyList<float> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        var body = new ProtoWriter();
        foreach (var value in values)
        {
            body.WriteRawFixed32(BitConverter.SingleToUInt32Bits(value));
        }

        WriteBytes(field, body.AsSpan());
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    private ReadOnlySpan<byte> AsSpan() => _buffer.WrittenSpan;

    private void WriteTag(int field, int wireType)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(field, 1);
        WriteRawVarint(((ulong)field << 3) | (uint)wireType);
    }

    private void WriteRawVarint(ulong value)
    {
        while (value >= 0x80)
        {
            WriteRawByte((byte)(value | 0x80));
            value >>= 7;
        }

        WriteRawByte((byte)value);
    }

    private void WriteRawByte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    private void WriteRawFixed32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        _buffer.Write(bytes);
    }
}
