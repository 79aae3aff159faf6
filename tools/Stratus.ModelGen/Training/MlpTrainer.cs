using Stratus.ModelGen.Numerics;

namespace Stratus.ModelGen.Training;

/// <summary>
/// Minibatch Adam training of an <see cref="Mlp"/> on cross-entropy. Single-threaded and
/// seeded, so the same data and seed always produce bit-identical weights.
/// </summary>
internal sealed class MlpTrainer
{
    private readonly Mlp _mlp;
    private readonly RandomSource _rng;

    public MlpTrainer(Mlp mlp, RandomSource rng)
    {
        _mlp = mlp;
        _rng = rng;
    }

    public int Epochs { get; init; } = 10;

    public int BatchSize { get; init; } = 64;

    public float LearningRate { get; init; } = 0.003f;

    /// <summary>Multiplicative learning-rate decay per epoch: big steps early, fine-tuning late.</summary>
    public float LearningRateDecay { get; init; } = 0.8f;

    /// <param name="inputs">Standardized rows, row-major.</param>
    /// <param name="labels">Class index per row.</param>
    /// <param name="onEpoch">Receives (epoch, mean training loss) after each epoch.</param>
    public void Train(float[] inputs, int[] labels, Action<int, double>? onEpoch = null)
    {
        var featureCount = _mlp.LayerSizes[0];
        var parameters = _mlp.Parameters;
        var gradients = parameters.Select(p => new float[p.Length]).ToArray();
        var optimizer = new AdamOptimizer(parameters, LearningRate);
        var order = Enumerable.Range(0, labels.Length).ToArray();
        var batchInputs = new float[BatchSize * featureCount];
        var batchLabels = new int[BatchSize];

        for (var epoch = 0; epoch < Epochs; epoch++)
        {
            _rng.Shuffle(order);
            var lossSum = 0.0;
            for (var start = 0; start < order.Length; start += BatchSize)
            {
                var batch = Math.Min(BatchSize, order.Length - start);
                for (var b = 0; b < batch; b++)
                {
                    var row = order[start + b];
                    inputs.AsSpan(row * featureCount, featureCount).CopyTo(batchInputs.AsSpan(b * featureCount));
                    batchLabels[b] = labels[row];
                }

                var x = batch == BatchSize ? batchInputs : batchInputs[..(batch * featureCount)];
                var activations = _mlp.Forward(x, batch);
                var probabilities = activations[^1];
                var classes = _mlp.LayerSizes[^1];
                for (var b = 0; b < batch; b++)
                {
                    lossSum -= DeterministicMath.Log(Math.Max(probabilities[(b * classes) + batchLabels[b]], 1e-7f));
                }

                _mlp.Backward(activations, batchLabels.AsSpan(0, batch), batch, gradients);
                optimizer.Step(gradients);
            }

            onEpoch?.Invoke(epoch + 1, lossSum / labels.Length);
            optimizer.LearningRate *= LearningRateDecay;
        }
    }
}
