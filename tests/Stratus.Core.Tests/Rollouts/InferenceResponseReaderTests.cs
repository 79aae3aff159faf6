using System.Buffers.Binary;
using System.Text;
using Stratus.Core.Rollouts;

namespace Stratus.Core.Tests.Rollouts;

public sealed class InferenceResponseReaderTests
{
    [Fact]
    public void Read_FlatJsonData_ReturnsEveryOutputWithItsValues()
    {
        var outputs = ReadJson("""
            {"model_name":"m","model_version":"1","id":"7","outputs":[
              {"name":"probabilities","datatype":"FP32","shape":[1,3],"data":[0.25,0.5,0.25]},
              {"name":"label","datatype":"INT32","shape":[1],"data":[-2]}]}
            """);

        Assert.Equal(["probabilities", "label"], outputs.Select(o => o.Name));
        Assert.Equal("FP32", outputs[0].DataType);
        Assert.Equal([1L, 3L], outputs[0].Shape);
        Assert.Equal([0.25, 0.5, 0.25], outputs[0].Values);
        Assert.Equal([-2.0], outputs[1].Values);
    }

    [Fact]
    public void Read_NestedJsonData_FlattensRowMajor()
    {
        var outputs = ReadJson("""{"outputs":[{"name":"y","datatype":"FP64","shape":[2,2,1],"data":[[[1],[2]],[[3],[4.5]]]}]}""");

        Assert.Equal([1.0, 2.0, 3.0, 4.5], outputs[0].Values);
    }

    [Fact]
    public void Read_DataBeforeDatatypeAndShape_StillReadsIt()
    {
        var outputs = ReadJson("""{"outputs":[{"data":[[1,2],[3,4]],"name":"y","shape":[2,2],"datatype":"INT8"}]}""");

        Assert.Equal([1.0, 2.0, 3.0, 4.0], outputs[0].Values);
    }

    [Fact]
    public void Read_ScalarData_IsOneElementOfRankZero()
    {
        var outputs = ReadJson("""{"outputs":[{"name":"score","datatype":"FP32","shape":[],"data":0.75}]}""");

        Assert.Empty(outputs[0].Shape);
        Assert.Equal([0.75], outputs[0].Values);
    }

    [Fact]
    public void Read_JsonBool_ReadsOneAndZero()
    {
        var outputs = ReadJson("""{"outputs":[{"name":"mask","datatype":"BOOL","shape":[3],"data":[true,false,true]}]}""");

        Assert.Equal([1.0, 0.0, 1.0], outputs[0].Values);
    }

    [Fact]
    public void Read_JsonStrings_ReadsTheirUtf8ByteLengths()
    {
        // "é" is two bytes in UTF-8, written plainly or escaped.
        var outputs = ReadJson("""{"outputs":[{"name":"text","datatype":"BYTES","shape":[3],"data":["cat","h\u00e9","é"]}]}""");

        Assert.Equal([3.0, 3.0, 2.0], outputs[0].Values);
    }

    [Fact]
    public void Read_LargeInt64AndUInt64_KeepTheirMagnitude()
    {
        var outputs = ReadJson("""
            {"outputs":[
              {"name":"ids","datatype":"INT64","shape":[3],"data":[9223372036854775807,-9223372036854775808,9007199254740993]},
              {"name":"hashes","datatype":"UINT64","shape":[1],"data":[18446744073709551615]}]}
            """);

        Assert.Equal([(double)long.MaxValue, long.MinValue, 9007199254740993L], outputs[0].Values);
        Assert.Equal([(double)ulong.MaxValue], outputs[1].Values);
    }

    [Fact]
    public void Read_BinaryFp32AndInt64_ReadsEachFromItsOwnSliceInOrder()
    {
        var scores = Binary(4, [0.5f, -1.25f, 3f], (span, v) => BinaryPrimitives.WriteSingleLittleEndian(span, v));
        var ids = Binary(8, [long.MaxValue, -3L], (span, v) => BinaryPrimitives.WriteInt64LittleEndian(span, v));
        var (body, headerLength) = WithBinary(
            $$$"""
            {"outputs":[
              {"name":"scores","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":{{{scores.Length}}}}},
              {"name":"label","datatype":"INT32","shape":[1],"data":[2]},
              {"name":"ids","datatype":"INT64","shape":[2],"parameters":{"binary_data_size":{{{ids.Length}}}}}]}
            """,
            scores,
            ids);

        var outputs = InferenceResponseReader.Read(body, headerLength);

        Assert.Equal([0.5, -1.25, 3.0], outputs[0].Values);
        Assert.Equal([2.0], outputs[1].Values);
        Assert.Equal([(double)long.MaxValue, -3.0], outputs[2].Values);
    }

    [Fact]
    public void Read_BinaryFp16_ReadsHalves()
    {
        var data = Binary(2, [(Half)0.5, (Half)(-2), Half.MaxValue], (span, v) => BinaryPrimitives.WriteHalfLittleEndian(span, v));
        var (body, headerLength) = WithBinary(
            $$$"""{"outputs":[{"name":"h","datatype":"FP16","shape":[3],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""", data);

        var outputs = InferenceResponseReader.Read(body, headerLength);

        Assert.Equal([0.5, -2.0, 65504.0], outputs[0].Values);
    }

    [Fact]
    public void Read_BinaryBool_ReadsAnyNonZeroByteAsOne()
    {
        byte[] data = [1, 0, 0, 2];
        var (body, headerLength) = WithBinary(
            """{"outputs":[{"name":"mask","datatype":"BOOL","shape":[2,2],"parameters":{"binary_data_size":4}}]}""", data);

        var outputs = InferenceResponseReader.Read(body, headerLength);

        Assert.Equal([1.0, 0.0, 0.0, 1.0], outputs[0].Values);
    }

    [Fact]
    public void Read_BinaryBytes_ReadsEachElementsLength()
    {
        var data = Strings("cat", "", "héllo");
        var (body, headerLength) = WithBinary(
            $$$"""{"outputs":[{"name":"text","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""", data);

        var outputs = InferenceResponseReader.Read(body, headerLength);

        Assert.Equal([3.0, 0.0, 6.0], outputs[0].Values);
    }

    [Fact]
    public void Read_HeaderLengthOfTheWholeBody_ReadsPureJson()
    {
        var body = Encoding.UTF8.GetBytes("""{"outputs":[{"name":"y","datatype":"UINT8","shape":[1],"data":[255]}]}""");

        Assert.Equal([255.0], InferenceResponseReader.Read(body, body.Length)[0].Values);
    }

    [Theory]
    [InlineData("not json", "malformed JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("""{"model_name":"m"}""", "has no 'outputs'")]
    [InlineData("""{"error":"model is not ready"}""", "the response is an error: model is not ready")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[1]}]} {}""", "malformed JSON")]
    [InlineData("""{"outputs":{"name":"y"}}""", "'outputs' must be an array")]
    [InlineData("""{"outputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}""", "an output has no 'name'")]
    [InlineData("""{"outputs":[{"name":"y","shape":[1],"data":[1]}]}""", "output 'y' has no 'datatype'")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","data":[1]}]}""", "output 'y' has no 'shape'")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FLOAT","shape":[1],"data":[1]}]}""", "unknown datatype 'FLOAT'")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[-1],"data":[1]}]}""", "non-negative integers")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1]}]}""", "neither 'data' nor 'binary_data_size'")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[3],"data":[1,2]}]}""", "has 2 elements in 'data' but its shape [3] needs 3")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[1,2]}]}""", "more than the 1 elements")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1000000],"data":[1]}]}""", "cannot hold that many")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[4611686018427387904,4],"data":[1]}]}""", "too large to hold")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":["1"]}]}""", "has \"1\" in 'data', expected a number")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"BOOL","shape":[1],"data":[1]}]}""", "expected true or false")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"BYTES","shape":[1],"data":[1]}]}""", "expected a string")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"INT32","shape":[1],"data":[1.5]}]}""", "expected an integer within the range of INT32")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"UINT8","shape":[1],"data":[256]}]}""", "expected an integer within the range of UINT8")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"UINT32","shape":[1],"data":[-1]}]}""", "expected an integer within the range of UINT32")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[{"v":1}]}]}""", "has an object in 'data'")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[null]}]}""", "has null in 'data'")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}""", "has both 'data' and 'binary_data_size'")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}""", "claims 4 bytes of binary data but only 0 remain")]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4}}]}""", "must be a non-negative integer")]
    public void Read_MalformedJson_ThrowsFormatExceptionSayingWhy(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ReadJson(json));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HeaderLengthBeyondTheBody_Throws()
    {
        var body = Encoding.UTF8.GetBytes("""{"outputs":[]}""");

        var e = Assert.Throws<FormatException>(() => InferenceResponseReader.Read(body, body.Length + 1));

        Assert.Contains($"said to be {body.Length + 1} bytes but the body has {body.Length}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BinarySizeThatDoesNotFitTheShape_Throws()
    {
        var (body, headerLength) = WithBinary("""{"outputs":[{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":4}}]}""", new byte[4]);

        var e = Assert.Throws<FormatException>(() => InferenceResponseReader.Read(body, headerLength));

        Assert.Equal("output 'y' has shape [2] of FP32, which needs 8 bytes, but 'binary_data_size' is 4", e.Message);
    }

    [Fact]
    public void Read_BinaryDataBeyondWhatTheOutputsClaim_Throws()
    {
        var (body, headerLength) = WithBinary("""{"outputs":[{"name":"y","datatype":"INT8","shape":[2],"parameters":{"binary_data_size":2}}]}""", new byte[3]);

        var e = Assert.Throws<FormatException>(() => InferenceResponseReader.Read(body, headerLength));

        Assert.Equal("the body carries 3 bytes of binary tensor data but the outputs claim 2", e.Message);
    }

    [Fact]
    public void Read_BinaryWithoutAHeaderLength_Throws()
    {
        var (body, _) = WithBinary("""{"outputs":[{"name":"y","datatype":"INT8","shape":[2],"parameters":{"binary_data_size":2}}]}""", new byte[2]);

        Assert.Throws<FormatException>(() => InferenceResponseReader.Read(body, null));
    }

    [Theory]
    [InlineData(new byte[] { 3, 0, 0, 0, (byte)'c', (byte)'a' }, 1, "element 0 claims 3 bytes but only 2 remain")]
    [InlineData(new byte[] { 5, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c', (byte)'d', (byte)'e', 0, 0, 0 }, 3, "ends inside element 1 of 3")]
    [InlineData(new byte[] { 1, 0, 0, 0, (byte)'c', 0 }, 1, "1 bytes of binary BYTES data beyond its 1 elements")]
    [InlineData(new byte[] { 0, 0, 0, 0 }, 2, "cannot hold that many")]
    public void Read_MalformedBinaryBytes_Throws(byte[] data, int count, string expected)
    {
        var (body, headerLength) = WithBinary(
            $$$"""{"outputs":[{"name":"text","datatype":"BYTES","shape":[{{{count}}}],"parameters":{"binary_data_size":{{{data.Length}}}}}]}""", data);

        var e = Assert.Throws<FormatException>(() => InferenceResponseReader.Read(body, headerLength));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static IReadOnlyList<OutputTensor> ReadJson(string json) => InferenceResponseReader.Read(Encoding.UTF8.GetBytes(json), null);

    private static byte[] Binary<T>(int size, T[] values, Action<Span<byte>, T> write)
    {
        var data = new byte[size * values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            write(data.AsSpan(i * size, size), values[i]);
        }

        return data;
    }

    private static byte[] Strings(params string[] values)
    {
        var data = new List<byte>();
        foreach (var value in values)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
            data.AddRange(length);
            data.AddRange(bytes);
        }

        return [.. data];
    }

    private static (byte[] Body, int HeaderLength) WithBinary(string header, params byte[][] parts)
    {
        var json = Encoding.UTF8.GetBytes(header);
        return ([.. json, .. parts.SelectMany(p => p)], json.Length);
    }
}
