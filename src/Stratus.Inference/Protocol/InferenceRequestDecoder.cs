using System.Buffers.Binary;
using System.Text.Json;
using Stratus.Core.Api;
using Stratus.Core.Models;

namespace Stratus.Inference.Protocol;

/// <summary>
/// Decodes a v2 inference request body: JSON, or a JSON header followed by binary tensor data when the caller
/// sends <c>Inference-Header-Content-Length</c> (the binary tensor data extension of Triton and KServe).
/// Every mistake becomes a 400 <see cref="InferenceException"/> that names the input at fault.
/// </summary>
public static class InferenceRequestDecoder
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <param name="body">The whole body; the returned request points into it, so it must outlive the request.</param>
    /// <param name="headerLength">The value of <c>Inference-Header-Content-Length</c>, or null for a pure JSON body.</param>
    public static InferenceRequest Decode(ReadOnlyMemory<byte> body, int? headerLength, InferenceRequest? into = null)
    {
        var request = into ?? new InferenceRequest();
        ReadOnlyMemory<byte> header = body;
        ReadOnlyMemory<byte> binary = ReadOnlyMemory<byte>.Empty;
        if (headerLength is { } length)
        {
            if (length < 0 || length > body.Length)
            {
                throw InferenceException.BadRequest(
                    $"Inference-Header-Content-Length is {length} but the body has {body.Length} bytes");
            }

            header = body[..length];
            binary = body[length..];
        }

        if (Utf8Text.Problem(header.Span) is { } notUtf8)
        {
            throw InferenceException.BadRequest(notUtf8);
        }

        try
        {
            var binaryOffset = 0;
            var reader = new Utf8JsonReader(header.Span, ReaderOptions);
            ReadRequest(ref reader, request, binary, ref binaryOffset, header.Length);
            if (binaryOffset != binary.Length)
            {
                throw InferenceException.BadRequest(
                    $"the body carries {binary.Length} bytes of binary tensor data but the inputs claim {binaryOffset}");
            }

            return request;
        }
        catch (JsonException e)
        {
            throw InferenceException.BadRequest($"malformed JSON: {e.Message}");
        }
    }

    private static void ReadRequest(ref Utf8JsonReader reader, InferenceRequest request, ReadOnlyMemory<byte> binary, ref int binaryOffset, int headerLength)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.BadRequest("the request body must be a JSON object");
        }

        var sawInputs = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                request.Id = reader.TokenType == JsonTokenType.String
                    ? reader.GetString()
                    : throw InferenceException.BadRequest("'id' must be a string");
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray, "'inputs' must be an array");
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    request.Inputs.Add(ReadInput(ref reader, request, binary, ref binaryOffset, headerLength));
                }

                sawInputs = true;
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray, "'outputs' must be an array");
                request.Outputs = [];
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    request.Outputs.Add(ReadRequestedOutput(ref reader));
                }
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Expect(ref reader, JsonTokenType.StartObject, "'parameters' must be an object");
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("binary_data_output"u8))
                    {
                        reader.Read();
                        request.BinaryDataOutput = ReadBoolean(ref reader, "binary_data_output");
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!sawInputs)
        {
            throw InferenceException.BadRequest("the request has no 'inputs'");
        }

        if (reader.Read())
        {
            throw InferenceException.BadRequest("unexpected data after the request object");
        }
    }

    private static RequestedOutput ReadRequestedOutput(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.BadRequest("each entry of 'outputs' must be an object");
        }

        string? name = null;
        bool? binary = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = ReadString(ref reader, "output 'name'");
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Expect(ref reader, JsonTokenType.StartObject, "output 'parameters' must be an object");
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isBinary = reader.ValueTextEquals("binary_data"u8);
                    reader.Read();
                    if (isBinary)
                    {
                        binary = ReadBoolean(ref reader, "binary_data");
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return new RequestedOutput(name ?? throw InferenceException.BadRequest("an entry of 'outputs' has no 'name'"), binary);
    }

    private static InferTensor ReadInput(ref Utf8JsonReader reader, InferenceRequest request, ReadOnlyMemory<byte> binary, ref int binaryOffset, int headerLength)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.BadRequest("each entry of 'inputs' must be an object");
        }

        string? name = null;
        TensorDataType? dataType = null;
        long[]? shape = null;
        long? binarySize = null;
        var data = default(Utf8JsonReader);
        var hasData = false;
        InferTensor? parsed = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = ReadString(ref reader, "input 'name'");
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                reader.Read();
                var text = ReadString(ref reader, "input 'datatype'");
                dataType = TensorDataTypes.TryParse(text, out var parsedType)
                    ? parsedType
                    : throw InferenceException.BadRequest(
                        $"input '{name ?? "?"}' has unknown datatype '{text}'; expected one of {string.Join(", ", TensorDataTypes.AllWireNames)}");
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                shape = ReadShape(ref reader, name);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Expect(ref reader, JsonTokenType.StartObject, "input 'parameters' must be an object");
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isSize = reader.ValueTextEquals("binary_data_size"u8);
                    reader.Read();
                    if (isSize)
                    {
                        binarySize = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var size) && size >= 0
                            ? size
                            : throw InferenceException.BadRequest("'binary_data_size' must be a non-negative integer");
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                hasData = true;
                if (name is not null && dataType is { } known && shape is not null)
                {
                    // The usual order: decode in place, in a single pass over the numbers.
                    parsed = ReadJsonData(ref reader, request, name, known, shape, headerLength);
                }
                else
                {
                    // The data came before datatype or shape: remember where it is and decode it once both are known.
                    data = reader;
                    reader.Read();
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (name is null)
        {
            throw InferenceException.BadRequest("an input has no 'name'");
        }

        if (dataType is not { } type)
        {
            throw InferenceException.BadRequest($"input '{name}' has no 'datatype'");
        }

        if (shape is null)
        {
            throw InferenceException.BadRequest($"input '{name}' has no 'shape'");
        }

        if (binarySize is { } byteCount)
        {
            if (hasData)
            {
                throw InferenceException.BadRequest($"input '{name}' has both 'data' and 'binary_data_size'");
            }

            if (byteCount > binary.Length - binaryOffset)
            {
                throw InferenceException.BadRequest(
                    $"input '{name}' claims {byteCount} bytes of binary data but only {binary.Length - binaryOffset} remain");
            }

            var slice = binary.Slice(binaryOffset, (int)byteCount);
            binaryOffset += (int)byteCount;
            return BinaryTensor(name, type, shape, ElementCount(name, shape), slice);
        }

        if (!hasData)
        {
            throw InferenceException.BadRequest($"input '{name}' has neither 'data' nor 'binary_data_size'");
        }

        if (parsed is not null && (parsed.Name != name || parsed.DataType != type || !ReferenceEquals(parsed.Shape, shape)))
        {
            throw InferenceException.BadRequest($"input '{name}' gives its name, datatype or shape twice");
        }

        return parsed ?? ReadJsonData(ref data, request, name, type, shape, headerLength);
    }

    private static InferTensor ReadJsonData(ref Utf8JsonReader reader, InferenceRequest request, string name, TensorDataType type, long[] shape, int headerLength)
    {
        // Every JSON element takes at least one byte, so a shape that needs more elements than the header has
        // bytes cannot match; checking first stops a tiny request from making us allocate for a huge shape.
        var count = ElementCount(name, shape);
        if (count > headerLength)
        {
            throw InferenceException.BadRequest(
                $"input '{name}' has shape {TensorSpec.FormatShape(shape)} ({count} elements) but its data cannot hold that many");
        }

        return JsonTensorReader.Read(ref reader, request, name, type, shape, (int)count);
    }

    private static long ElementCount(string name, long[] shape)
    {
        try
        {
            return ShapeMath.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw InferenceException.BadRequest($"input '{name}' has shape {TensorSpec.FormatShape(shape)}, too large to hold");
        }
    }

    private static InferTensor BinaryTensor(string name, TensorDataType type, long[] shape, long count, ReadOnlyMemory<byte> slice)
    {
        if (type.IsFixedSize())
        {
            var expected = count * type.ElementSize();
            if (slice.Length != expected)
            {
                throw InferenceException.BadRequest(
                    $"input '{name}' has shape {TensorSpec.FormatShape(shape)} of {type.ToWireName()}, which needs {expected} bytes, but 'binary_data_size' is {slice.Length}");
            }

            return new InferTensor { Name = name, DataType = type, Shape = shape, Raw = slice };
        }

        // BYTES elements are each a 4-byte little-endian length followed by that many bytes.
        var elements = new byte[count][];
        var span = slice.Span;
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            if (span.Length - offset < 4)
            {
                throw InferenceException.BadRequest($"input '{name}' binary BYTES data ends inside element {i} of {count}");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
            offset += 4;
            if (length > (uint)(span.Length - offset))
            {
                throw InferenceException.BadRequest($"input '{name}' binary BYTES element {i} claims {length} bytes but only {span.Length - offset} remain");
            }

            elements[i] = span.Slice(offset, (int)length).ToArray();
            offset += (int)length;
        }

        if (offset != span.Length)
        {
            throw InferenceException.BadRequest($"input '{name}' has {span.Length - offset} bytes of binary BYTES data beyond its {count} elements");
        }

        return new InferTensor { Name = name, DataType = type, Shape = shape, Elements = elements };
    }

    private static long[] ReadShape(ref Utf8JsonReader reader, string? name)
    {
        Expect(ref reader, JsonTokenType.StartArray, $"input '{name ?? "?"}' 'shape' must be an array of integers");
        Span<long> dims = stackalloc long[16];
        var rank = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dim) || dim < 0)
            {
                throw InferenceException.BadRequest($"input '{name ?? "?"}' 'shape' must be an array of non-negative integers");
            }

            if (rank == dims.Length)
            {
                throw InferenceException.BadRequest($"input '{name ?? "?"}' has more than {dims.Length} dimensions");
            }

            dims[rank++] = dim;
        }

        return dims[..rank].ToArray();
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token, string message)
    {
        if (!reader.Read() || reader.TokenType != token)
        {
            throw InferenceException.BadRequest(message);
        }
    }

    private static string ReadString(ref Utf8JsonReader reader, string what) =>
        reader.TokenType == JsonTokenType.String
            ? reader.GetString()!
            : throw InferenceException.BadRequest($"{what} must be a string");

    private static bool ReadBoolean(ref Utf8JsonReader reader, string what) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw InferenceException.BadRequest($"'{what}' must be true or false"),
    };
}
