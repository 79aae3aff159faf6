using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Stratus.Core.Models;

namespace Stratus.Inference.Protocol;

/// <summary>An output to return and whether it goes as binary tensor data.</summary>
public readonly record struct ResponseOutput(InferTensor Tensor, bool Binary);

/// <summary>
/// Encodes a v2 inference response: pure JSON, or a JSON header followed by the binary data of the outputs that
/// asked for it, in which case the header length is returned for <c>Inference-Header-Content-Length</c>.
/// </summary>
public static class InferenceResponseEncoder
{
    public static int? Encode(PooledBufferWriter destination, string modelName, string modelVersion, string? id, IReadOnlyList<ResponseOutput> outputs)
    {
        var anyBinary = false;
        using (var json = new Utf8JsonWriter(destination, new JsonWriterOptions { SkipValidation = true }))
        {
            json.WriteStartObject();
            json.WriteString("model_name"u8, modelName);
            json.WriteString("model_version"u8, modelVersion);
            if (id is not null)
            {
                json.WriteString("id"u8, id);
            }

            json.WriteStartArray("outputs"u8);
            foreach (var (tensor, binary) in outputs)
            {
                json.WriteStartObject();
                json.WriteString("name"u8, tensor.Name);
                json.WriteString("datatype"u8, tensor.DataType.ToWireName());
                json.WriteStartArray("shape"u8);
                foreach (var dim in tensor.Shape)
                {
                    json.WriteNumberValue(dim);
                }

                json.WriteEndArray();
                if (binary)
                {
                    anyBinary = true;
                    json.WriteStartObject("parameters"u8);
                    json.WriteNumber("binary_data_size"u8, BinarySize(tensor));
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteStartArray("data"u8);
                    WriteData(json, tensor);
                    json.WriteEndArray();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        if (!anyBinary)
        {
            return null;
        }

        var headerLength = destination.WrittenCount;
        foreach (var (tensor, binary) in outputs)
        {
            if (binary)
            {
                WriteBinary(destination, tensor);
            }
        }

        return headerLength;
    }

    /// <summary>Writes a <c>{"error": message}</c> body.</summary>
    public static void EncodeError(PooledBufferWriter destination, string message)
    {
        using var json = new Utf8JsonWriter(destination);
        json.WriteStartObject();
        json.WriteString("error"u8, message);
        json.WriteEndObject();
    }

    private static long BinarySize(InferTensor tensor)
    {
        if (tensor.Elements is { } elements)
        {
            long size = 0;
            foreach (var element in elements)
            {
                size += 4 + element.Length;
            }

            return size;
        }

        return tensor.Raw.Length;
    }

    private static void WriteBinary(PooledBufferWriter destination, InferTensor tensor)
    {
        if (tensor.Elements is not { } elements)
        {
            destination.Write(tensor.Raw.Span);
            return;
        }

        Span<byte> length = stackalloc byte[4];
        foreach (var element in elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)element.Length);
            destination.Write(length);
            destination.Write(element);
        }
    }

    private static void WriteData(Utf8JsonWriter json, InferTensor tensor)
    {
        var raw = tensor.Raw.Span;
        switch (tensor.DataType)
        {
            case TensorDataType.Bool:
                foreach (var b in raw)
                {
                    json.WriteBooleanValue(b != 0);
                }

                break;
            case TensorDataType.UInt8:
                WriteUnsigned<byte>(json, raw);
                break;
            case TensorDataType.UInt16:
                WriteUnsigned<ushort>(json, raw);
                break;
            case TensorDataType.UInt32:
                WriteUnsigned<uint>(json, raw);
                break;
            case TensorDataType.UInt64:
                WriteUnsigned<ulong>(json, raw);
                break;
            case TensorDataType.Int8:
                WriteSigned<sbyte>(json, raw);
                break;
            case TensorDataType.Int16:
                WriteSigned<short>(json, raw);
                break;
            case TensorDataType.Int32:
                WriteSigned<int>(json, raw);
                break;
            case TensorDataType.Int64:
                WriteSigned<long>(json, raw);
                break;
            case TensorDataType.Fp16:
                foreach (var v in MemoryMarshal.Cast<byte, Half>(raw))
                {
                    WriteFloat(json, (float)v);
                }

                break;
            case TensorDataType.Fp32:
                foreach (var v in MemoryMarshal.Cast<byte, float>(raw))
                {
                    WriteFloat(json, v);
                }

                break;
            case TensorDataType.Fp64:
                foreach (var v in MemoryMarshal.Cast<byte, double>(raw))
                {
                    if (double.IsFinite(v))
                    {
                        json.WriteNumberValue(v);
                    }
                    else
                    {
                        json.WriteStringValue(NonFiniteName(v));
                    }
                }

                break;
            case TensorDataType.Bytes:
                foreach (var element in tensor.Elements ?? [])
                {
                    WriteBytes(json, element);
                }

                break;
        }
    }

    private static void WriteSigned<T>(Utf8JsonWriter json, ReadOnlySpan<byte> raw)
        where T : unmanaged, IBinaryInteger<T>
    {
        foreach (var v in MemoryMarshal.Cast<byte, T>(raw))
        {
            json.WriteNumberValue(long.CreateTruncating(v));
        }
    }

    private static void WriteUnsigned<T>(Utf8JsonWriter json, ReadOnlySpan<byte> raw)
        where T : unmanaged, IBinaryInteger<T>
    {
        foreach (var v in MemoryMarshal.Cast<byte, T>(raw))
        {
            json.WriteNumberValue(ulong.CreateTruncating(v));
        }
    }

    // JSON has no NaN or infinity; Triton writes them as strings and so do we, rather than failing the response.
    private static void WriteFloat(Utf8JsonWriter json, float v)
    {
        if (float.IsFinite(v))
        {
            json.WriteNumberValue(v);
        }
        else
        {
            json.WriteStringValue(NonFiniteName(v));
        }
    }

    private static string NonFiniteName(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";

    private static void WriteBytes(Utf8JsonWriter json, byte[] element)
    {
        if (System.Text.Unicode.Utf8.IsValid(element))
        {
            json.WriteStringValue(element);
        }
        else
        {
            // Not text: JSON strings cannot carry arbitrary bytes, so replace invalid sequences; binary output keeps them exact.
            json.WriteStringValue(Encoding.UTF8.GetString(element));
        }
    }
}
