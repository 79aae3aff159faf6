using System.Buffers.Binary;
using System.Text.Json;
using Stratus.Core.Models;

namespace Stratus.Inference.Protocol;

/// <summary>
/// Reads the <c>data</c> of a v2 JSON input, flat or nested to any depth, straight into the little-endian layout
/// ONNX Runtime consumes, checking each value against the declared datatype and the count against the shape.
/// </summary>
internal static class JsonTensorReader
{
    public static InferTensor Read(ref Utf8JsonReader reader, InferenceRequest request, string name, TensorDataType type, long[] shape, int count)
    {
        reader.Read(); // the property name -> its value
        var size = type.ElementSize();
        var elements = type == TensorDataType.Bytes ? new byte[count][] : null;
        var buffer = elements is null ? request.Rent(count * size) : null;
        var written = 0;
        var depth = 0;

        // Walks nested arrays of any depth; a bare value (a scalar written as "data": 3) is one element at depth 0.
        do
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    depth++;
                    break;
                case JsonTokenType.EndArray:
                    depth--;
                    break;
                default:
                    if (written == count)
                    {
                        throw InferenceException.BadRequest(
                            $"input '{name}' has more than {count} elements in 'data' but its shape {TensorSpec.FormatShape(shape)} holds {count}");
                    }

                    if (elements is not null)
                    {
                        elements[written] = ReadString(ref reader, name);
                    }
                    else
                    {
                        WriteValue(ref reader, name, type, buffer.AsSpan(written * size, size));
                    }

                    written++;
                    break;
            }
        }
        while (depth > 0 && reader.Read());

        if (written != count)
        {
            throw InferenceException.BadRequest(
                $"input '{name}' has {written} elements in 'data' but its shape {TensorSpec.FormatShape(shape)} needs {count}");
        }

        return elements is not null
            ? new InferTensor { Name = name, DataType = type, Shape = shape, Elements = elements }
            : new InferTensor { Name = name, DataType = type, Shape = shape, Raw = buffer.AsMemory(0, count * size) };
    }

    private static byte[] ReadString(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw WrongValue(name, TensorDataType.Bytes, ref reader);
        }

        var value = new byte[reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length];
        var length = reader.CopyString(value);
        return length == value.Length ? value : value[..length];
    }

    private static void WriteValue(ref Utf8JsonReader reader, string name, TensorDataType type, Span<byte> at)
    {
        if (type == TensorDataType.Bool)
        {
            at[0] = reader.TokenType switch
            {
                JsonTokenType.True => 1,
                JsonTokenType.False => 0,
                _ => throw WrongValue(name, type, ref reader),
            };
            return;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            throw WrongValue(name, type, ref reader);
        }

        bool ok;
        switch (type)
        {
            // A JSON number is always finite, so an infinite result means the value overflowed the type: refused
            // rather than handed to the model as infinity.
            case TensorDataType.Fp32:
                ok = (FastDecimal.TryParseSingle(reader.ValueSpan, out var f) || reader.TryGetSingle(out f)) && float.IsFinite(f);
                BinaryPrimitives.WriteSingleLittleEndian(at, f);
                break;
            case TensorDataType.Fp64:
                ok = (FastDecimal.TryParseDouble(reader.ValueSpan, out var d) || reader.TryGetDouble(out d)) && double.IsFinite(d);
                BinaryPrimitives.WriteDoubleLittleEndian(at, d);
                break;
            case TensorDataType.Fp16:
                ok = reader.TryGetDouble(out var h) && Half.IsFinite((Half)h);
                BinaryPrimitives.WriteHalfLittleEndian(at, (Half)h);
                break;
            case TensorDataType.UInt64:
                ok = reader.TryGetUInt64(out var u);
                BinaryPrimitives.WriteUInt64LittleEndian(at, u);
                break;
            default:
                ok = WriteInteger(ref reader, type, at);
                break;
        }

        if (!ok)
        {
            throw WrongValue(name, type, ref reader);
        }
    }

    private static bool WriteInteger(ref Utf8JsonReader reader, TensorDataType type, Span<byte> at)
    {
        if (!reader.TryGetInt64(out var v))
        {
            return false;
        }

        switch (type)
        {
            case TensorDataType.Int64:
                BinaryPrimitives.WriteInt64LittleEndian(at, v);
                return true;
            case TensorDataType.Int32 when v is >= int.MinValue and <= int.MaxValue:
                BinaryPrimitives.WriteInt32LittleEndian(at, (int)v);
                return true;
            case TensorDataType.Int16 when v is >= short.MinValue and <= short.MaxValue:
                BinaryPrimitives.WriteInt16LittleEndian(at, (short)v);
                return true;
            case TensorDataType.Int8 when v is >= sbyte.MinValue and <= sbyte.MaxValue:
                at[0] = (byte)(sbyte)v;
                return true;
            case TensorDataType.UInt32 when v is >= 0 and <= uint.MaxValue:
                BinaryPrimitives.WriteUInt32LittleEndian(at, (uint)v);
                return true;
            case TensorDataType.UInt16 when v is >= 0 and <= ushort.MaxValue:
                BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)v);
                return true;
            case TensorDataType.UInt8 when v is >= 0 and <= byte.MaxValue:
                at[0] = (byte)v;
                return true;
            default:
                return false;
        }
    }

    private static InferenceException WrongValue(string name, TensorDataType type, ref Utf8JsonReader reader) =>
        InferenceException.BadRequest($"input '{name}' of datatype {type.ToWireName()} has {JsonTensorValues.Found(ref reader)} in 'data', expected {JsonTensorValues.Expected(type)}");
}
