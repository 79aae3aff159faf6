namespace Stratus.Inference.Protocol;

/// <summary>An output the caller asked for, and whether it wants it as binary data.</summary>
public sealed record RequestedOutput(string Name, bool? Binary);

/// <summary>
/// A decoded inference request. It owns the pooled buffers its tensors point into (the request body and any
/// decoded JSON data) and returns them to the pool when disposed.
/// </summary>
public sealed class InferenceRequest : IDisposable
{
    private readonly TensorBuffers _buffers = new();

    public string? Id { get; set; }

    public List<InferTensor> Inputs { get; } = [];

    /// <summary>The outputs asked for; null means all of them.</summary>
    public List<RequestedOutput>? Outputs { get; set; }

    /// <summary>The request-level <c>binary_data_output</c> parameter: default for outputs that do not say.</summary>
    public bool BinaryDataOutput { get; set; }

    internal byte[] Rent(int length) => _buffers.Rent(length);

    /// <summary>Hands ownership of a pooled buffer (the request body) to this request.</summary>
    internal void Adopt(byte[] buffer) => _buffers.Adopt(buffer);

    public void Dispose() => _buffers.Dispose();
}
