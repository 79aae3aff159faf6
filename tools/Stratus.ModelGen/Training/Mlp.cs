using Stratus.ModelGen.Numerics;

namespace Stratus.ModelGen.Training;

/// <summary>
/// A float32 multilayer perceptron: Gemm + ReLU hidden layers and a softmax output.
/// Weights are stored row-major as [in, out], which is exactly ONNX Gemm's B with transB = 0,
/// so they are exported as-is. The forward pass follows the graph's op order
/// (x·W, + b, ReLU, ..., max-subtracted softmax) so its outputs serve as a test fixture.
/// </summary>
internal sealed class Mlp
{
    private readonly int[] _sizes;

    /// <summary>He-normal weights (suits ReLU), zero biases.</summary>
    public Mlp(int[] layerSizes, RandomSource rng)
    {
        if (layerSizes.Length < 2)
        {
            throw new ArgumentException("Need at least an input and an output size.", nameof(layerSizes));
        }

        _sizes = layerSizes;
        Weights = new float[LayerCount][];
        Biases = new float[LayerCount][];
        for (var l = 0; l < LayerCount; l++)
        {
            var fanIn = _sizes[l];
            var std = Math.Sqrt(2.0 / fanIn);
            Weights[l] = new float[fanIn * _sizes[l + 1]];
            for (var i = 0; i < Weights[l].Length; i++)
            {
                Weights[l][i] = (float)(rng.NextNormal() * std);
            }

            Biases[l] = new float[_sizes[l + 1]];
        }
    }

    public int LayerCount => _sizes.Length - 1;

    public IReadOnlyList<int> LayerSizes => _sizes;

    public float[][] Weights { get; }

    public float[][] Biases { get; }

    /// <summary>Weights and biases interleaved (W0, b0, W1, b1, ...), the order the optimizer sees them.</summary>
    public IReadOnlyList<float[]> Parameters =>
        Enumerable.Range(0, LayerCount).SelectMany(l => new[] { Weights[l], Biases[l] }).ToArray();

    /// <summary>
    /// Runs a batch; returns every layer's post-activation output (index 0 is the input,
    /// the last is the softmax probabilities), which backpropagation needs.
    /// </summary>
    public float[][] Forward(float[] input, int batch)
    {
        var activations = new float[LayerCount + 1][];
        activations[0] = input;
        for (var l = 0; l < LayerCount; l++)
        {
            int inSize = _sizes[l], outSize = _sizes[l + 1];
            var x = activations[l];
            var w = Weights[l];
            var y = new float[batch * outSize];
            for (var b = 0; b < batch; b++)
            {
                for (var j = 0; j < outSize; j++)
                {
                    var acc = 0f;
                    for (var k = 0; k < inSize; k++)
                    {
                        acc += x[(b * inSize) + k] * w[(k * outSize) + j];
                    }

                    y[(b * outSize) + j] = acc + Biases[l][j];
                }
            }

            if (l < LayerCount - 1)
            {
                for (var i = 0; i < y.Length; i++)
                {
                    y[i] = Math.Max(y[i], 0f);
                }
            }
            else
            {
                SoftmaxRows(y, batch, outSize);
            }

            activations[l + 1] = y;
        }

        return activations;
    }

    /// <summary>
    /// Gradients of the mean cross-entropy over the batch. With softmax + cross-entropy the
    /// gradient at the logits simplifies to (p - onehot) / batch.
    /// </summary>
    public void Backward(float[][] activations, ReadOnlySpan<int> labels, int batch, IReadOnlyList<float[]> gradients)
    {
        var outSize = _sizes[LayerCount];
        var delta = (float[])activations[LayerCount].Clone();
        for (var b = 0; b < batch; b++)
        {
            delta[(b * outSize) + labels[b]] -= 1f;
        }

        for (var i = 0; i < delta.Length; i++)
        {
            delta[i] /= batch;
        }

        for (var l = LayerCount - 1; l >= 0; l--)
        {
            int inSize = _sizes[l], layerOut = _sizes[l + 1];
            var x = activations[l];
            var w = Weights[l];
            var gradW = gradients[2 * l];
            var gradB = gradients[(2 * l) + 1];
            Array.Clear(gradW);
            Array.Clear(gradB);
            for (var b = 0; b < batch; b++)
            {
                for (var j = 0; j < layerOut; j++)
                {
                    var d = delta[(b * layerOut) + j];
                    gradB[j] += d;
                    for (var k = 0; k < inSize; k++)
                    {
                        gradW[(k * layerOut) + j] += x[(b * inSize) + k] * d;
                    }
                }
            }

            if (l == 0)
            {
                break;
            }

            // Propagate through W and the previous layer's ReLU (its output is > 0 exactly where it was active).
            var previous = new float[batch * inSize];
            for (var b = 0; b < batch; b++)
            {
                for (var k = 0; k < inSize; k++)
                {
                    if (x[(b * inSize) + k] <= 0f)
                    {
                        continue;
                    }

                    var acc = 0f;
                    for (var j = 0; j < layerOut; j++)
                    {
                        acc += delta[(b * layerOut) + j] * w[(k * layerOut) + j];
                    }

                    previous[(b * inSize) + k] = acc;
                }
            }

            delta = previous;
        }
    }

    public float[] Predict(float[] input, int batch) => Forward(input, batch)[LayerCount];

    private static void SoftmaxRows(float[] values, int rows, int columns)
    {
        for (var r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * columns, columns);
            var max = float.NegativeInfinity;
            foreach (var v in row)
            {
                max = Math.Max(max, v);
            }

            var sum = 0f;
            for (var c = 0; c < columns; c++)
            {
                row[c] = DeterministicMath.Exp(row[c] - max);
                sum += row[c];
            }

            for (var c = 0; c < columns; c++)
            {
                row[c] /= sum;
            }
        }
    }
}
