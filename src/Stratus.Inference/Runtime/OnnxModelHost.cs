using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Stratus.Core.Models;
using Stratus.Inference.Protocol;

namespace Stratus.Inference.Runtime;

/// <summary>
/// One ONNX model loaded in an ONNX Runtime session. Inputs reach the runtime as <see cref="OrtValue"/>s over the
/// request's own pinned pooled buffers (no copy, no per-request managed tensors); outputs are copied once into
/// pooled buffers so the native ones are freed at once.
/// </summary>
public sealed class OnnxModelHost : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    private OnnxModelHost(InferenceSession session, ModelSignature signature)
    {
        _session = session;
        Signature = signature;
        _inputNames = [.. signature.Inputs.Select(i => i.Name)];
        _outputNames = [.. signature.Outputs.Select(o => o.Name)];
    }

    public ModelSignature Signature { get; }

    /// <summary>Loads a model file; throws <see cref="ModelLoadException"/> with the runtime's reason if it cannot be served.</summary>
    public static OnnxModelHost Load(string path, SessionSettings? settings = null) =>
        Load(options => new InferenceSession(path, options), Path.GetFileName(path), settings);

    /// <summary>Loads a model from memory (one decrypted there, never written to a disk); <paramref name="name"/> is for messages.</summary>
    public static OnnxModelHost Load(byte[] model, string name, SessionSettings? settings = null) =>
        Load(options => new InferenceSession(model, options), name, settings);

    private static OnnxModelHost Load(Func<SessionOptions, InferenceSession> open, string name, SessionSettings? settings)
    {
        settings ??= new SessionSettings();
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = settings.EffectiveIntraOpThreads,
            InterOpNumThreads = 1,
            LogSeverityLevel = settings.LogWarnings ? OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING : OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", settings.AllowSpinning ? "1" : "0");

        InferenceSession session;
        try
        {
            session = open(options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelLoadException($"ONNX Runtime cannot load '{name}': {e.Message}", e);
        }

        try
        {
            var signature = new ModelSignature(
                [.. session.InputMetadata.Select(kv => ToSpec(kv.Key, kv.Value, "input"))],
                [.. session.OutputMetadata.Select(kv => ToSpec(kv.Key, kv.Value, "output"))]);
            return new OnnxModelHost(session, signature);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Runs the model on inputs given in signature order and returns every output in signature order.</summary>
    public InferenceResult Run(IReadOnlyList<InferTensor> inputs)
    {
        var values = new OrtValue[inputs.Count];
        var pins = new MemoryHandle[inputs.Count];
        var buffers = new TensorBuffers();
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                values[i] = CreateValue(inputs[i], buffers, ref pins[i]);
            }

            using var results = _session.Run(_runOptions, _inputNames, values, _outputNames);
            var outputs = new InferTensor[results.Count];
            for (var i = 0; i < results.Count; i++)
            {
                outputs[i] = CopyOut(_outputNames[i], results[i], buffers);
            }

            return new InferenceResult(outputs, buffers);
        }
        catch
        {
            buffers.Dispose();
            throw;
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }

            foreach (var pin in pins)
            {
                pin.Dispose();
            }
        }
    }

    private static unsafe OrtValue CreateValue(InferTensor tensor, TensorBuffers buffers, ref MemoryHandle pin)
    {
        var elementType = ToElementType(tensor.DataType);
        if (tensor.Elements is { } elements)
        {
            var strings = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.Shape);
            for (var i = 0; i < elements.Length; i++)
            {
                strings.StringTensorSetElementAt(elements[i].AsSpan(), i);
            }

            return strings;
        }

        if (tensor.Raw.IsEmpty)
        {
            return OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, elementType, tensor.Shape);
        }

        var raw = tensor.Raw;
        pin = raw.Pin();
        if ((nint)pin.Pointer % tensor.DataType.ElementSize() != 0)
        {
            // Binary request data can sit at any offset of the body; kernels expect naturally aligned elements.
            pin.Dispose();
            var aligned = buffers.Rent(raw.Length);
            raw.Span.CopyTo(aligned);
            raw = aligned.AsMemory(0, raw.Length);
            pin = raw.Pin();
        }

        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, elementType, tensor.Shape, (nint)pin.Pointer, raw.Length);
    }

    private static InferTensor CopyOut(string name, OrtValue value, TensorBuffers buffers)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        var type = FromElementType(info.ElementDataType)
            ?? throw new InvalidOperationException($"output '{name}' has element type {info.ElementDataType}, which the v2 protocol cannot carry");
        if (type == TensorDataType.Bytes)
        {
            var count = (int)info.ElementCount;
            var elements = new byte[count][];
            for (var i = 0; i < count; i++)
            {
                elements[i] = value.GetStringElementAsSpan(i).ToArray();
            }

            return new InferTensor { Name = name, DataType = type, Shape = shape, Elements = elements };
        }

        var source = value.GetTensorMutableRawData();
        var copy = buffers.Rent(source.Length);
        source.CopyTo(copy);
        return new InferTensor { Name = name, DataType = type, Shape = shape, Raw = copy.AsMemory(0, source.Length) };
    }

    private static TensorSpec ToSpec(string name, NodeMetadata metadata, string kind)
    {
        if (!metadata.IsTensor)
        {
            throw new ModelLoadException($"{kind} '{name}' is a {metadata.OnnxValueType}, not a tensor; the v2 protocol carries tensors only");
        }

        var type = FromElementType(metadata.ElementDataType)
            ?? throw new ModelLoadException($"{kind} '{name}' has element type {metadata.ElementDataType}, which the v2 protocol cannot carry");
        var shape = metadata.Dimensions.Select(d => d < 0 ? -1L : d).ToArray();
        var names = metadata.SymbolicDimensions.Select(s => s ?? string.Empty).ToArray();
        return new TensorSpec(name, type, shape, names);
    }

    internal static TensorElementType ToElementType(TensorDataType type) => type switch
    {
        TensorDataType.Bool => TensorElementType.Bool,
        TensorDataType.UInt8 => TensorElementType.UInt8,
        TensorDataType.UInt16 => TensorElementType.UInt16,
        TensorDataType.UInt32 => TensorElementType.UInt32,
        TensorDataType.UInt64 => TensorElementType.UInt64,
        TensorDataType.Int8 => TensorElementType.Int8,
        TensorDataType.Int16 => TensorElementType.Int16,
        TensorDataType.Int32 => TensorElementType.Int32,
        TensorDataType.Int64 => TensorElementType.Int64,
        TensorDataType.Fp16 => TensorElementType.Float16,
        TensorDataType.Fp32 => TensorElementType.Float,
        TensorDataType.Fp64 => TensorElementType.Double,
        TensorDataType.Bytes => TensorElementType.String,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    internal static TensorDataType? FromElementType(TensorElementType type) => type switch
    {
        TensorElementType.Bool => TensorDataType.Bool,
        TensorElementType.UInt8 => TensorDataType.UInt8,
        TensorElementType.UInt16 => TensorDataType.UInt16,
        TensorElementType.UInt32 => TensorDataType.UInt32,
        TensorElementType.UInt64 => TensorDataType.UInt64,
        TensorElementType.Int8 => TensorDataType.Int8,
        TensorElementType.Int16 => TensorDataType.Int16,
        TensorElementType.Int32 => TensorDataType.Int32,
        TensorElementType.Int64 => TensorDataType.Int64,
        TensorElementType.Float16 => TensorDataType.Fp16,
        TensorElementType.Float => TensorDataType.Fp32,
        TensorElementType.Double => TensorDataType.Fp64,
        TensorElementType.String => TensorDataType.Bytes,
        _ => null,
    };

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}

/// <summary>A model file that cannot be served, with the reason.</summary>
public sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);
