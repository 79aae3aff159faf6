using Stratus.Core.Models;
using Stratus.Inference.Runtime;

namespace Stratus.ControlPlane.Registry;

/// <summary>Loads a pushed model file in ONNX Runtime to check that it can be served and to read its signature.</summary>
public interface IModelValidator
{
    /// <summary>The model's signature; throws <see cref="ModelRejectedException"/> with the reason when it cannot be served.</summary>
    Task<ModelSignature> ValidateAsync(string path, CancellationToken cancellationToken = default);
}

/// <summary>
/// Validates in this process. A small file can make ONNX Runtime allocate gigabytes while it loads (constant folding
/// of a large <c>ConstantOfShape</c>), so the control plane uses <see cref="ChildProcessModelValidator"/>; this one is
/// what that child runs, and what tests that only need a registry use.
/// </summary>
public sealed class InProcessModelValidator : IModelValidator
{
    public static InProcessModelValidator Instance { get; } = new();

    public Task<ModelSignature> ValidateAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            return Task.FromResult(Inspect(path));
        }
        catch (ModelLoadException e)
        {
            return Task.FromException<ModelSignature>(new ModelRejectedException(e.Message, e));
        }
    }

    /// <summary>Loads the model once, single-threaded, and returns its signature; throws <see cref="ModelLoadException"/>.</summary>
    public static ModelSignature Inspect(string path, bool logWarnings = false)
    {
        using var model = OnnxModelHost.Load(path, new SessionSettings { IntraOpThreads = 1, LogWarnings = logWarnings });
        return model.Signature;
    }
}
