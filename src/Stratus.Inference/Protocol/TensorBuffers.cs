namespace Stratus.Inference.Protocol;

/// <summary>The arrays (of <see cref="BoundedArrayPool"/>) a set of tensors points into; disposing returns them all.</summary>
public sealed class TensorBuffers : IDisposable
{
    private readonly List<byte[]> _rented = [];

    public byte[] Rent(int length)
    {
        var buffer = BoundedArrayPool.Rent(length);
        _rented.Add(buffer);
        return buffer;
    }

    /// <summary>Takes ownership of an array rented elsewhere (a request body).</summary>
    public void Adopt(byte[] buffer) => _rented.Add(buffer);

    public void Dispose()
    {
        foreach (var buffer in _rented)
        {
            BoundedArrayPool.Return(buffer);
        }

        _rented.Clear();
    }
}

/// <summary>Outputs of a run, owning the pooled buffers they point into.</summary>
public sealed class InferenceResult(IReadOnlyList<InferTensor> outputs, TensorBuffers buffers) : IDisposable
{
    public IReadOnlyList<InferTensor> Outputs { get; } = outputs;

    public InferTensor? Find(string name) => Outputs.FirstOrDefault(o => o.Name == name);

    public void Dispose() => buffers.Dispose();
}
