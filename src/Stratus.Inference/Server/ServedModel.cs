using Stratus.Core.Models;
using Stratus.Inference.Batching;
using Stratus.Inference.Protocol;
using Stratus.Inference.Runtime;

namespace Stratus.Inference.Server;

/// <summary>A loaded model as the endpoints see it: its identity, its signature, and the scheduler in front of it.</summary>
public sealed class ServedModel(string name, string version, OnnxModelHost host, DynamicBatcher batcher, ReplicaMetrics metrics) : IDisposable
{
    public string Name { get; } = name;

    public string Version { get; } = version;

    public ModelSignature Signature => host.Signature;

    public DynamicBatcher Batcher { get; } = batcher;

    public ReplicaMetrics Metrics { get; } = metrics;

    /// <summary>Checks the request against the signature and returns its inputs in signature order.</summary>
    public InferTensor[] PrepareInputs(InferenceRequest request)
    {
        var ordered = SignatureCheck.OrderInputs(Signature, Name, request);
        if (Batcher.IsBatching)
        {
            var rows = ordered[0].Shape[0];
            foreach (var input in ordered)
            {
                if (input.Shape[0] != rows)
                {
                    throw InferenceException.BadRequest(
                        $"inputs disagree on the batch dimension: '{ordered[0].Name}' has {rows} rows, '{input.Name}' has {input.Shape[0]}");
                }
            }
        }

        return ordered;
    }

    /// <summary>Checks requested outputs exist; returns, per model output, whether to send it and as binary.</summary>
    public ResponseOutput[] SelectOutputs(InferenceRequest request, InferenceResult result)
    {
        if (request.Outputs is null)
        {
            return [.. result.Outputs.Select(o => new ResponseOutput(o, request.BinaryDataOutput))];
        }

        var selected = new ResponseOutput[request.Outputs.Count];
        for (var i = 0; i < selected.Length; i++)
        {
            var asked = request.Outputs[i];
            var tensor = result.Find(asked.Name)!;
            selected[i] = new ResponseOutput(tensor, asked.Binary ?? request.BinaryDataOutput);
        }

        return selected;
    }

    /// <summary>Rejects unknown requested outputs before any work is done.</summary>
    public void CheckRequestedOutputs(InferenceRequest request) => SignatureCheck.CheckRequestedOutputs(Signature, Name, request);

    public void Dispose()
    {
        Batcher.Dispose();
        host.Dispose();
    }
}
