using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Stratus.Core.Models;

namespace Stratus.Core.Rollouts;

/// <summary>
/// Reads the outputs of a v2 inference response body, so that a stable and a shadow answer can be compared number by
/// number: pure JSON, or a JSON header followed by binary tensor data (the binary tensor data extension of Triton and
/// KServe). Anything malformed is a <see cref="FormatException"/> that names the output at fault.
/// </summary>
public static class InferenceResponseReader
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <param name="body">The whole response body.</param>
    /// <param name="headerLength">The value of <c>Inference-Header-Content-Length</c>, or null for a pure JSON body.</param>
    public static IReadOnlyList<OutputTensor> Read(ReadOnlySpan<byte> body, int? headerLength)
    {
        var header = body;
        var binary = ReadOnlySpan<byte>.Empty;
        if (headerLength is { } length)
        {
            if (length < 0 || length > body.Length)
            {
                throw new FormatException($"the JSON header is said to be {length} bytes but the body has {body.Length}");
            }

            header = body[..length];
            binary = body[length..];
        }

        try
        {
            var reader = new Utf8JsonReader(header, ReaderOptions);
            var binaryOffset = 0;
            var outputs = ReadResponse(ref reader, binary, ref binaryOffset);
            if (binaryOffset != binary.Length)
            {
                throw new FormatException($"the body carries {binary.Length} bytes of binary tensor data but the outputs claim {binaryOffset}");
            }

            return outputs;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8.
            throw new FormatException($"malformed JSON in the response: {e.Message}", e);
        }
    }

    private static List<OutputTensor> ReadResponse(ref Utf8JsonReader reader, ReadOnlySpan<byte> binary, ref int binaryOffset)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException("the response body must be a JSON object");
        }

        List<OutputTensor>? outputs = null;
        string? error = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("outputs"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray, "'outputs' must be an array");
                outputs = [];
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    outputs.Add(ReadOutput(ref reader, binary, ref binaryOffset));
                }
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                error = reader.TokenType == JsonTokenType.String ? reader.GetString() : "(not a string)";
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.Read())
        {
            throw new FormatException("unexpected data after the response object");
        }

        return outputs ?? throw new FormatException(error is null ? "the response has no 'outputs'" : $"the response is an error: {error}");
    }

    private static OutputTensor ReadOutput(ref Utf8JsonReader reader, ReadOnlySpan<byte> binary, ref int binaryOffset)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException("each entry of 'outputs' must be an object");
        }

        string? name = null;
        string? wireType = null;
        TensorDataType? dataType = null;
        long[]? shape = null;
        long? binarySize = null;
        var data = default(Utf8JsonReader);
        var hasData = false;
        long dataBytes = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = ReadString(ref reader, "an output's 'name'");
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                reader.Read();
                wireType = ReadString(ref reader, $"output '{name ?? "?"}' 'datatype'");
                dataType = TensorDataTypes.TryParse(wireType, out var parsed)
                    ? parsed
                    : throw new FormatException(
                        $"output '{name ?? "?"}' has unknown datatype '{wireType}'; expected one of {string.Join(", ", TensorDataTypes.AllWireNames)}");
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                shape = ReadShape(ref reader, name);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                binarySize = ReadBinarySize(ref reader, name) ?? binarySize;
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                // Decoded once the datatype and shape are known, wherever they stand in the object.
                hasData = true;
                data = reader;
                reader.Read();
                reader.Skip();
                dataBytes = reader.BytesConsumed - data.BytesConsumed;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (name is null)
        {
            throw new FormatException("an output has no 'name'");
        }

        if (dataType is not { } type || wireType is null)
        {
            throw new FormatException($"output '{name}' has no 'datatype'");
        }

        if (shape is null)
        {
            throw new FormatException($"output '{name}' has no 'shape'");
        }

        var count = ElementCount(name, shape);
        if (binarySize is { } byteCount)
        {
            if (hasData)
            {
                throw new FormatException($"output '{name}' has both 'data' and 'binary_data_size'");
            }

            if (byteCount > binary.Length - binaryOffset)
            {
                throw new FormatException($"output '{name}' claims {byteCount} bytes of binary data but only {binary.Length - binaryOffset} remain");
            }

            var slice = binary.Slice(binaryOffset, (int)byteCount);
            binaryOffset += (int)byteCount;
            return new OutputTensor(name, wireType, shape, ReadBinary(name, type, shape, count, slice));
        }

        if (!hasData)
        {
            throw new FormatException($"output '{name}' has neither 'data' nor 'binary_data_size'");
        }

        // Every JSON element takes at least one byte: a shape that needs more cannot match, and is not allocated.
        if (count > dataBytes)
        {
            throw new FormatException($"output '{name}' has shape {TensorSpec.FormatShape(shape)} ({count} elements) but its data cannot hold that many");
        }

        var values = new double[count];
        var written = 0;
        data.Read();
        ReadJsonElements(ref data, name, type, values, ref written);
        if (written != count)
        {
            throw new FormatException($"output '{name}' has {written} elements in 'data' but its shape {TensorSpec.FormatShape(shape)} needs {count}");
        }

        return new OutputTensor(name, wireType, shape, values);
    }

    private static long? ReadBinarySize(ref Utf8JsonReader reader, string? name)
    {
        Expect(ref reader, JsonTokenType.StartObject, $"output '{name ?? "?"}' 'parameters' must be an object");
        long? size = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isSize = reader.ValueTextEquals("binary_data_size"u8);
            reader.Read();
            if (isSize)
            {
                size = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0
                    ? value
                    : throw new FormatException($"output '{name ?? "?"}' 'binary_data_size' must be a non-negative integer");
            }
            else
            {
                reader.Skip();
            }
        }

        return size;
    }

    /// <summary>Flattens nested arrays of any depth (bounded by the reader's depth limit); a bare value is one element.</summary>
    private static void ReadJsonElements(ref Utf8JsonReader reader, string name, TensorDataType type, double[] values, ref int written)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            if (written == values.Length)
            {
                throw new FormatException($"output '{name}' has more than the {values.Length} elements its shape holds in 'data'");
            }

            values[written++] = ReadJsonValue(ref reader, name, type);
            return;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            ReadJsonElements(ref reader, name, type, values, ref written);
        }
    }

    private static double ReadJsonValue(ref Utf8JsonReader reader, string name, TensorDataType type)
    {
        double? value = (type, reader.TokenType) switch
        {
            (TensorDataType.Bool, JsonTokenType.True) => 1,
            (TensorDataType.Bool, JsonTokenType.False) => 0,
            (TensorDataType.Bytes, JsonTokenType.String) => reader.ValueIsEscaped ? Encoding.UTF8.GetByteCount(reader.GetString()!) : reader.ValueSpan.Length,
            (TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64, JsonTokenType.Number) => reader.TryGetDouble(out var d) ? d : null,
            (TensorDataType.UInt64, JsonTokenType.Number) => reader.TryGetUInt64(out var u) ? u : null,
            (TensorDataType.Bool or TensorDataType.Bytes, _) => null,
            (_, JsonTokenType.Number) => reader.TryGetInt64(out var i) && i >= Minimum(type) && i <= Maximum(type) ? i : null,
            _ => null,
        };
        return value ?? throw WrongValue(ref reader, name, type);
    }

    private static long Minimum(TensorDataType type) => type switch
    {
        TensorDataType.Int8 => sbyte.MinValue,
        TensorDataType.Int16 => short.MinValue,
        TensorDataType.Int32 => int.MinValue,
        TensorDataType.Int64 => long.MinValue,
        _ => 0,
    };

    private static long Maximum(TensorDataType type) => type switch
    {
        TensorDataType.Int8 => sbyte.MaxValue,
        TensorDataType.Int16 => short.MaxValue,
        TensorDataType.Int32 => int.MaxValue,
        TensorDataType.UInt8 => byte.MaxValue,
        TensorDataType.UInt16 => ushort.MaxValue,
        TensorDataType.UInt32 => uint.MaxValue,
        _ => long.MaxValue,
    };

    private static FormatException WrongValue(ref Utf8JsonReader reader, string name, TensorDataType type) =>
        new($"output '{name}' of datatype {type.ToWireName()} has {JsonTensorValues.Found(ref reader)} in 'data', expected {JsonTensorValues.Expected(type)}");

    private static double[] ReadBinary(string name, TensorDataType type, long[] shape, long count, ReadOnlySpan<byte> slice)
    {
        if (!type.IsFixedSize())
        {
            return ReadBinaryStrings(name, count, slice);
        }

        var size = type.ElementSize();
        if (count > slice.Length || count * size != slice.Length)
        {
            throw new FormatException(
                $"output '{name}' has shape {TensorSpec.FormatShape(shape)} of {type.ToWireName()}, which needs {count * size} bytes, but 'binary_data_size' is {slice.Length}");
        }

        var values = new double[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ReadBinaryValue(type, slice.Slice(i * size, size));
        }

        return values;
    }

    private static double ReadBinaryValue(TensorDataType type, ReadOnlySpan<byte> at) => type switch
    {
        TensorDataType.Bool => at[0] == 0 ? 0 : 1,
        TensorDataType.UInt8 => at[0],
        TensorDataType.Int8 => (sbyte)at[0],
        TensorDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(at),
        TensorDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(at),
        TensorDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(at),
        TensorDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(at),
        TensorDataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(at),
        TensorDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(at),
        TensorDataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(at),
        TensorDataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(at),
        TensorDataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(at),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a fixed-size datatype"),
    };

    /// <summary>BYTES elements are each a 4-byte little-endian length followed by that many bytes; each counts as its length.</summary>
    private static double[] ReadBinaryStrings(string name, long count, ReadOnlySpan<byte> slice)
    {
        if (count > slice.Length / 4)
        {
            throw new FormatException($"output '{name}' has {count} BYTES elements but its {slice.Length} bytes of binary data cannot hold that many");
        }

        var values = new double[count];
        var offset = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (slice.Length - offset < 4)
            {
                throw new FormatException($"output '{name}' binary BYTES data ends inside element {i} of {count}");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(slice[offset..]);
            offset += 4;
            if (length > (uint)(slice.Length - offset))
            {
                throw new FormatException($"output '{name}' binary BYTES element {i} claims {length} bytes but only {slice.Length - offset} remain");
            }

            values[i] = length;
            offset += (int)length;
        }

        if (offset != slice.Length)
        {
            throw new FormatException($"output '{name}' has {slice.Length - offset} bytes of binary BYTES data beyond its {count} elements");
        }

        return values;
    }

    private static long[] ReadShape(ref Utf8JsonReader reader, string? name)
    {
        Expect(ref reader, JsonTokenType.StartArray, $"output '{name ?? "?"}' 'shape' must be an array of integers");
        var dims = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dim) || dim < 0)
            {
                throw new FormatException($"output '{name ?? "?"}' 'shape' must be an array of non-negative integers");
            }

            dims.Add(dim);
        }

        return [.. dims];
    }

    private static long ElementCount(string name, long[] shape)
    {
        try
        {
            long count = 1;
            foreach (var dim in shape)
            {
                count = checked(count * dim);
            }

            return count;
        }
        catch (OverflowException)
        {
            throw new FormatException($"output '{name}' has shape {TensorSpec.FormatShape(shape)}, too large to hold");
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token, string message)
    {
        if (!reader.Read() || reader.TokenType != token)
        {
            throw new FormatException(message);
        }
    }

    private static string ReadString(ref Utf8JsonReader reader, string what) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new FormatException($"{what} must be a string");
}
