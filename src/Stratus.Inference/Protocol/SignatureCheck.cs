using Stratus.Core.Models;

namespace Stratus.Inference.Protocol;

/// <summary>
/// Checks a decoded request against a model's signature, each mistake a 400 <see cref="InferenceException"/> that
/// names the tensor at fault. The replica runs it on every request; the registry runs it on the sample requests
/// pushed with a model, so a sample that could never be answered is refused at push time.
/// </summary>
public static class SignatureCheck
{
    /// <summary>The request's inputs in signature order: every input given once, with its datatype and an accepted shape.</summary>
    public static InferTensor[] OrderInputs(ModelSignature signature, string modelName, InferenceRequest request)
    {
        var ordered = new InferTensor[signature.Inputs.Count];
        foreach (var input in request.Inputs)
        {
            var index = IndexOf(signature.Inputs, input.Name);
            if (index < 0)
            {
                throw InferenceException.BadRequest(
                    $"unknown input '{input.Name}' for model '{modelName}'; it takes {string.Join(", ", signature.Inputs.Select(i => i.Name))}");
            }

            if (ordered[index] is not null)
            {
                throw InferenceException.BadRequest($"input '{input.Name}' is given twice");
            }

            var spec = signature.Inputs[index];
            if (input.DataType != spec.DataType)
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' has datatype {input.DataType.ToWireName()} but model '{modelName}' expects {spec.DataType.ToWireName()}");
            }

            if (!spec.Accepts(input.Shape))
            {
                throw InferenceException.BadRequest(
                    $"input '{input.Name}' has shape {TensorSpec.FormatShape(input.Shape)} but model '{modelName}' expects {spec.FormatShape()} (-1 is any size)");
            }

            ordered[index] = input;
        }

        for (var i = 0; i < ordered.Length; i++)
        {
            if (ordered[i] is null)
            {
                throw InferenceException.BadRequest($"missing input '{signature.Inputs[i].Name}' for model '{modelName}'");
            }
        }

        return ordered;
    }

    /// <summary>Rejects requested outputs the model does not have.</summary>
    public static void CheckRequestedOutputs(ModelSignature signature, string modelName, InferenceRequest request)
    {
        foreach (var asked in request.Outputs ?? [])
        {
            if (IndexOf(signature.Outputs, asked.Name) < 0)
            {
                throw InferenceException.BadRequest(
                    $"unknown output '{asked.Name}' for model '{modelName}'; it returns {string.Join(", ", signature.Outputs.Select(o => o.Name))}");
            }
        }
    }

    private static int IndexOf(IReadOnlyList<TensorSpec> specs, string name)
    {
        for (var i = 0; i < specs.Count; i++)
        {
            if (specs[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }
}
