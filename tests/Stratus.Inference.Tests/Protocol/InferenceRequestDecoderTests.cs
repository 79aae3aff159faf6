using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Stratus.Core.Models;
using Stratus.Inference.Protocol;

namespace Stratus.Inference.Tests.Protocol;

public sealed class InferenceRequestDecoderTests
{
    private static InferenceRequest Decode(string json) => InferenceRequestDecoder.Decode(Encoding.UTF8.GetBytes(json), null);

    private static string DecodeError(string json) => Assert.Throws<InferenceException>(() => Decode(json)).Message;

    [Fact]
    public void Decode_FlatAndNestedData_GiveTheSameRowMajorBytes()
    {
        using var flat = Decode("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data":[1,2,3,4,5,6]}]}""");
        using var nested = Decode("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data":[[1,2,3],[4,5,6]]}]}""");

        float[] expected = [1, 2, 3, 4, 5, 6];
        Assert.Equal(expected, MemoryMarshal.Cast<byte, float>(flat.Inputs[0].Raw.Span).ToArray());
        Assert.Equal(expected, MemoryMarshal.Cast<byte, float>(nested.Inputs[0].Raw.Span).ToArray());
        Assert.Equal([2L, 3L], nested.Inputs[0].Shape);
    }

    [Fact]
    public void Decode_DataBeforeDatatypeAndShape_IsReadOnceBothAreKnown()
    {
        using var request = Decode("""{"inputs":[{"data":[7,-8],"name":"x","shape":[2],"datatype":"INT16"}],"id":"abc"}""");

        Assert.Equal([(short)7, (short)-8], MemoryMarshal.Cast<byte, short>(request.Inputs[0].Raw.Span).ToArray());
        Assert.Equal("abc", request.Id);
    }

    [Theory]
    [InlineData("BOOL", "[true,false,true]", new byte[] { 1, 0, 1 })]
    [InlineData("UINT8", "[0,255,7]", new byte[] { 0, 255, 7 })]
    [InlineData("INT8", "[-128,127,-1]", new byte[] { 0x80, 0x7F, 0xFF })]
    [InlineData("UINT16", "[0,65535,258]", new byte[] { 0, 0, 0xFF, 0xFF, 2, 1 })]
    [InlineData("INT16", "[-32768,32767,-2]", new byte[] { 0, 0x80, 0xFF, 0x7F, 0xFE, 0xFF })]
    public void Decode_SmallIntegerTypes_WriteLittleEndianBytes(string datatype, string data, byte[] expected)
    {
        using var request = Decode($$"""{"inputs":[{"name":"x","datatype":"{{datatype}}","shape":[3],"data":{{data}}}]}""");

        Assert.Equal(expected, request.Inputs[0].Raw.ToArray());
    }

    [Fact]
    public void Decode_WideTypes_KeepTheirExtremes()
    {
        using var request = Decode("""
            {"inputs":[
              {"name":"a","datatype":"UINT32","shape":[2],"data":[0,4294967295]},
              {"name":"b","datatype":"INT32","shape":[2],"data":[-2147483648,2147483647]},
              {"name":"c","datatype":"UINT64","shape":[2],"data":[0,18446744073709551615]},
              {"name":"d","datatype":"INT64","shape":[2],"data":[-9223372036854775808,9223372036854775807]},
              {"name":"e","datatype":"FP16","shape":[2],"data":[0.5,-65504]},
              {"name":"f","datatype":"FP64","shape":[2],"data":[1e-300,0.1]}
            ]}
            """);

        Assert.Equal([0u, uint.MaxValue], MemoryMarshal.Cast<byte, uint>(request.Inputs[0].Raw.Span).ToArray());
        Assert.Equal([int.MinValue, int.MaxValue], MemoryMarshal.Cast<byte, int>(request.Inputs[1].Raw.Span).ToArray());
        Assert.Equal([0UL, ulong.MaxValue], MemoryMarshal.Cast<byte, ulong>(request.Inputs[2].Raw.Span).ToArray());
        Assert.Equal([long.MinValue, long.MaxValue], MemoryMarshal.Cast<byte, long>(request.Inputs[3].Raw.Span).ToArray());
        Assert.Equal([(Half)0.5, (Half)(-65504)], MemoryMarshal.Cast<byte, Half>(request.Inputs[4].Raw.Span).ToArray());
        Assert.Equal([1e-300, 0.1], MemoryMarshal.Cast<byte, double>(request.Inputs[5].Raw.Span).ToArray());
    }

    [Fact]
    public void Decode_FloatsAtTheEdgeOfTheirRange_AreKeptNotRefused()
    {
        using var request = Decode("""
            {"inputs":[
              {"name":"f","datatype":"FP32","shape":[4],"data":[3.4028235e38,-3.4028235e38,1e-50,1.4e-45]},
              {"name":"h","datatype":"FP16","shape":[2],"data":[65504,-65504]},
              {"name":"d","datatype":"FP64","shape":[2],"data":[1.7976931348623157e308,5e-324]}]}
            """);

        Assert.Equal([float.MaxValue, float.MinValue, 0f, float.Epsilon], MemoryMarshal.Cast<byte, float>(request.Inputs[0].Raw.Span).ToArray());
        Assert.Equal([Half.MaxValue, Half.MinValue], MemoryMarshal.Cast<byte, Half>(request.Inputs[1].Raw.Span).ToArray());
        Assert.Equal([double.MaxValue, double.Epsilon], MemoryMarshal.Cast<byte, double>(request.Inputs[2].Raw.Span).ToArray());
    }

    [Fact]
    public void Decode_BytesData_UnescapesJsonStrings()
    {
        using var request = Decode("""{"inputs":[{"name":"s","datatype":"BYTES","shape":[3],"data":["plain","tab\tquote\"","\u00e9\u6f22"]}]}""");

        Assert.Equal(["plain", "tab\tquote\"", "é漢"], request.Inputs[0].Elements!.Select(e => Encoding.UTF8.GetString(e)));
    }

    [Fact]
    public void Decode_ScalarShape_AcceptsBareAndBracketedValue()
    {
        using var bare = Decode("""{"inputs":[{"name":"k","datatype":"FP32","shape":[],"data":2.5}]}""");
        using var bracketed = Decode("""{"inputs":[{"name":"k","datatype":"FP32","shape":[],"data":[2.5]}]}""");

        Assert.Empty(bare.Inputs[0].Shape);
        Assert.Equal(2.5f, BinaryPrimitives.ReadSingleLittleEndian(bare.Inputs[0].Raw.Span));
        Assert.Equal(2.5f, BinaryPrimitives.ReadSingleLittleEndian(bracketed.Inputs[0].Raw.Span));
    }

    [Fact]
    public void Decode_OutputsAndParameters_AreRecorded()
    {
        using var request = Decode("""
            {"parameters":{"binary_data_output":true,"other":{"x":[1]}},
             "inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1],"parameters":{"note":"ignored"}}],
             "outputs":[{"name":"y"},{"name":"z","parameters":{"binary_data":false}}]}
            """);

        Assert.True(request.BinaryDataOutput);
        Assert.Equal([new RequestedOutput("y", null), new RequestedOutput("z", false)], request.Outputs!);
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2,3]}]}""", "has more than 2 elements")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[1,2,3]}]}""", "has 3 elements in 'data' but its shape [2,2] needs 4")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"UINT8","shape":[1],"data":[256]}]}""", "has 256 in 'data'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"INT8","shape":[1],"data":[-129]}]}""", "within the range of INT8")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1.5]}]}""", "expected an integer")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":["1"]}]}""", "expected a number")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"BOOL","shape":[1],"data":[1]}]}""", "expected true or false")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":[1]}]}""", "expected a string")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP33","shape":[1],"data":[1]}]}""", "unknown datatype 'FP33'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}""", "has no 'shape'")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"data":[1]}]}""", "has no 'datatype'")]
    [InlineData("""{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}""", "has no 'name'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}""", "neither 'data' nor 'binary_data_size'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[-1],"data":[1]}]}""", "non-negative integers")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[100000000],"data":[1]}]}""", "cannot hold that many")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[4611686018427387904,4],"data":[1]}]}""", "too large")]
    [InlineData("""{"id":"x"}""", "no 'inputs'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"shape":[2]}]}""", "gives its name, datatype or shape twice")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}""", "has both 'data' and 'binary_data_size'")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]""", "malformed JSON")]
    [InlineData("""{"inputs":[{"name":"x",}]}""", "malformed JSON")]
    [InlineData("""{"inputs":[]} trailing""", "malformed JSON")]
    [InlineData("""{"inputs":{}}""", "'inputs' must be an array")]
    [InlineData("""{"id":5,"inputs":[]}""", "'id' must be a string")]
    [InlineData("""{"inputs":[],"outputs":[{"parameters":{}}]}""", "has no 'name'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,1e39]}]}""", "input 'x' of datatype FP32 has 1e39 in 'data', expected a number within the range of FP32")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[-3.5e38]}]}""", "has -3.5e38 in 'data'")]
    [InlineData("""{"inputs":[{"name":"h","datatype":"FP16","shape":[1],"data":[65520]}]}""", "input 'h' of datatype FP16 has 65520 in 'data', expected a number within the range of FP16")]
    [InlineData("""{"inputs":[{"name":"d","datatype":"FP64","shape":[1],"data":[1e309]}]}""", "input 'd' of datatype FP64 has 1e309 in 'data'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[NaN]}]}""", "malformed JSON")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":["Infinity"]}]}""", "has \"Infinity\" in 'data', expected a number")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"UINT64","shape":[1],"data":[18446744073709551616]}]}""", "within the range of UINT64")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"INT64","shape":[1],"data":[9223372036854775808]}]}""", "within the range of INT64")]
    public void Decode_CallerMistakes_AreRefusedWithTheReason(string json, string expected)
    {
        var error = DecodeError(json);

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_BinaryExtension_SlicesEachInputInOrder()
    {
        var header = Encoding.UTF8.GetBytes("""
            {"inputs":[
              {"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},
              {"name":"s","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":13}},
              {"name":"b","datatype":"INT64","shape":[1],"data":[42]}
            ]}
            """);
        var body = new List<byte>(header);
        body.AddRange(BitConverter.GetBytes(1.5f));
        body.AddRange(BitConverter.GetBytes(-2f));
        body.AddRange(BitConverter.GetBytes(3));
        body.AddRange("abc"u8.ToArray());
        body.AddRange(BitConverter.GetBytes(2));
        body.AddRange("é"u8.ToArray());

        using var request = InferenceRequestDecoder.Decode(body.ToArray(), header.Length);

        Assert.Equal([1.5f, -2f], MemoryMarshal.Cast<byte, float>(request.Inputs[0].Raw.Span).ToArray());
        Assert.Equal(["abc", "é"], request.Inputs[1].Elements!.Select(e => Encoding.UTF8.GetString(e)));
        Assert.Equal(42L, BinaryPrimitives.ReadInt64LittleEndian(request.Inputs[2].Raw.Span));
    }

    [Theory]
    [InlineData(7, 8, "needs 8 bytes, but 'binary_data_size' is 7")]
    [InlineData(8, 4, "only 4 remain")]
    [InlineData(8, 12, "carries 12 bytes of binary tensor data but the inputs claim 8")]
    public void Decode_BinaryFramingMistakes_AreRefused(int claimed, int sent, string expected)
    {
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":{{{claimed}}}}}]}""");
        var body = header.Concat(new byte[sent]).ToArray();

        var error = Assert.Throws<InferenceException>(() => InferenceRequestDecoder.Decode(body, header.Length));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_HeaderLengthBeyondBody_IsRefused()
    {
        var error = Assert.Throws<InferenceException>(() => InferenceRequestDecoder.Decode(new byte[10], 11));

        Assert.Contains("Inference-Header-Content-Length is 11 but the body has 10 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_BinaryBytesElementOverrunningItsInput_IsRefused()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]}""");
        var body = header.Concat(BitConverter.GetBytes(5)).Concat("ab"u8.ToArray()).ToArray();

        var error = Assert.Throws<InferenceException>(() => InferenceRequestDecoder.Decode(body, header.Length));

        Assert.Contains("claims 5 bytes but only 2 remain", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_Errors_AreAllBadRequests()
    {
        var error = Assert.Throws<InferenceException>(() => Decode("{"));

        Assert.Equal(400, error.StatusCode);
    }

    [Fact]
    public void TensorDataTypes_EveryWireName_RoundTrips()
    {
        foreach (var type in Enum.GetValues<TensorDataType>())
        {
            Assert.True(TensorDataTypes.TryParse(type.ToWireName(), out var parsed));
            Assert.Equal(type, parsed);
        }
    }
}
