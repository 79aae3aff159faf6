using System.Buffers.Binary;

namespace Stratus.ModelGen.Onnx;

/// <summary>
/// A constant tensor (TensorProto) stored as little-endian raw_data, used for graph
/// initializers and tensor-valued attributes. A tensor with no dims is a scalar.
/// </summary>
internal sealed class OnnxTensor
{
    private const int DimsField = 1;
    private const int DataTypeField = 2;
    private const int NameField = 8;
    private const int RawDataField = 9;

    private readonly byte[] _rawData;

    private OnnxTensor(string name, OnnxDataType dataType, long[] dims, byte[] rawData)
    {
        Name = name;
        DataType = dataType;
        Dims = dims;
        _rawData = rawData;
    }

    public string Name { get; }

    public OnnxDataType DataType { get; }

    public IReadOnlyList<long> Dims { get; }

    public static OnnxTensor FromFloats(string name, IReadOnlyList<float> values, params long[] dims)
    {
        CheckElementCount(name, values.Count, dims);
        var raw = new byte[values.Count * sizeof(float)];
        for (var i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
        }

        return new OnnxTensor(name, OnnxDataType.Float, dims, raw);
    }

    public static OnnxTensor FromInt64s(string name, IReadOnlyList<long> values, params long[] dims)
    {
        CheckElementCount(name, values.Count, dims);
        var raw = new byte[values.Count * sizeof(long)];
        for (var i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), values[i]);
        }

        return new OnnxTensor(name, OnnxDataType.Int64, dims, raw);
    }

    public void WriteTo(ProtoWriter writer)
    {
        writer.WritePackedInt64(DimsField, Dims);
        writer.WriteInt64(DataTypeField, (long)DataType);
        writer.WriteString(NameField, Name);
        writer.WriteBytes(RawDataField, _rawData);
    }

    // Catches shape/data mismatches here rather than as an opaque ONNX Runtime load error.
    private static void CheckElementCount(string name, int count, long[] dims)
    {
        long expected = 1;
        foreach (var dim in dims)
        {
            expected *= dim;
        }

        if (expected != count)
        {
            throw new ArgumentException(
                $"Tensor '{name}' has {count} values but dims [{string.Join(",", dims)}] need {expected}.",
                nameof(dims));
        }
    }
}
