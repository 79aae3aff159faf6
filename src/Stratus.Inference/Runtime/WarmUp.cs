using Stratus.Core.Models;
using Stratus.Inference.Protocol;

namespace Stratus.Inference.Runtime;

/// <summary>
/// One run on zeros before the replica reports ready, so the first caller does not pay for ONNX Runtime's lazy
/// allocations and kernel selection. Dynamic dimensions are taken as 1.
/// </summary>
public static class WarmUp
{
    public static void Run(OnnxModelHost model)
    {
        var buffers = new TensorBuffers();
        try
        {
            var inputs = model.Signature.Inputs.Select(spec => Zeros(spec, buffers)).ToArray();
            using var result = model.Run(inputs);
        }
        finally
        {
            buffers.Dispose();
        }
    }

    /// <summary>A v2 JSON request of zeros (empty strings, false) for every input, dynamic dimensions taken as 1.</summary>
    public static string JsonRequest(ModelSignature signature)
    {
        static string Zero(TensorDataType type) => type switch
        {
            TensorDataType.Bytes => "\"\"",
            TensorDataType.Bool => "false",
            _ => "0",
        };

        var inputs = signature.Inputs.Select(spec =>
        {
            var shape = spec.Shape.Select(d => d < 0 ? 1L : d).ToArray();
            var data = string.Join(",", Enumerable.Repeat(Zero(spec.DataType), (int)ShapeMath.ElementCount(shape)));
            return $"{{\"name\":{System.Text.Json.JsonSerializer.Serialize(spec.Name)},\"datatype\":\"{spec.DataType.ToWireName()}\",\"shape\":[{string.Join(",", shape)}],\"data\":[{data}]}}";
        });
        return $"{{\"inputs\":[{string.Join(",", inputs)}]}}";
    }

    /// <summary>
    /// A deterministic probe set: <paramref name="count"/> v2 JSON requests of seeded pseudo-random values for every
    /// input (numbers in [-1, 1] for floating types, 0..3 for integers). Leading dynamic dimensions (and any dimension
    /// named like one) are 1, the batch; other dynamic dimensions vary from probe to probe (32, 64, 512, 1024, within
    /// 65,536 elements a tensor), so a model that needs a long window or a large image still gets a probe it takes.
    /// Replicas of the same model file must answer them alike.
    /// </summary>
    public static IReadOnlyList<string> ProbeSet(ModelSignature signature, int count = 4, int seed = 20261123)
    {
        var random = new Random(seed);
        string Value(TensorDataType type) => type switch
        {
            TensorDataType.Bytes => "\"probe\"",
            TensorDataType.Bool => random.Next(2) == 0 ? "false" : "true",
            TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64 => ((random.Next(2001) - 1000) / 1000.0).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
            _ => random.Next(4).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        long[] sizes = [32, 64, 512, 1024];
        var batchNames = signature.Inputs.Where(i => i.Shape.Count > 0 && i.Shape[0] < 0 && i.DimensionNames.Count > 0 && i.DimensionNames[0].Length > 0).Select(i => i.DimensionNames[0]).ToHashSet(StringComparer.Ordinal);
        return [.. Enumerable.Range(0, count).Select(p =>
        {
            var inputs = signature.Inputs.Select(spec =>
            {
                var shape = ProbeShape(spec, sizes[p % sizes.Length], batchNames);
                var data = string.Join(",", Enumerable.Range(0, (int)ShapeMath.ElementCount(shape)).Select(_ => Value(spec.DataType)));
                return $"{{\"name\":{System.Text.Json.JsonSerializer.Serialize(spec.Name)},\"datatype\":\"{spec.DataType.ToWireName()}\",\"shape\":[{string.Join(",", shape)}],\"data\":[{data}]}}";
            });
            return $"{{\"inputs\":[{string.Join(",", inputs)}]}}";
        })];
    }

    private static long[] ProbeShape(TensorSpec spec, long size, HashSet<string> batchNames)
    {
        const long MaxElements = 65_536;
        bool IsBatch(int axis) => axis == 0 || (axis < spec.DimensionNames.Count && batchNames.Contains(spec.DimensionNames[axis]));
        var shape = spec.Shape.Select((d, axis) => d >= 0 ? d : IsBatch(axis) ? 1L : size).ToArray();
        while (ShapeMath.ElementCount(shape) > MaxElements && shape.Where((d, axis) => spec.Shape[axis] < 0 && !IsBatch(axis)).Any(d => d > 1))
        {
            for (var axis = 0; axis < shape.Length; axis++)
            {
                if (spec.Shape[axis] < 0 && !IsBatch(axis))
                {
                    shape[axis] = Math.Max(1, shape[axis] / 2);
                }
            }
        }

        return shape;
    }

    public static InferTensor Zeros(TensorSpec spec, TensorBuffers buffers)
    {
        var shape = spec.Shape.Select(d => d < 0 ? 1L : d).ToArray();
        var count = (int)ShapeMath.ElementCount(shape);
        if (spec.DataType == TensorDataType.Bytes)
        {
            return new InferTensor { Name = spec.Name, DataType = spec.DataType, Shape = shape, Elements = [.. Enumerable.Repeat(Array.Empty<byte>(), count)] };
        }

        var bytes = count * spec.DataType.ElementSize();
        var buffer = buffers.Rent(bytes);
        buffer.AsSpan(0, bytes).Clear();
        return new InferTensor { Name = spec.Name, DataType = spec.DataType, Shape = shape, Raw = buffer.AsMemory(0, bytes) };
    }
}
