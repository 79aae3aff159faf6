using Stratus.ModelGen.Numerics;

namespace Stratus.ModelGen.Training;

/// <summary>Binary-classification metrics over two-column probability rows.</summary>
internal static class ClassificationMetrics
{
    public static double Accuracy(float[] probabilities, int[] labels)
    {
        var correct = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            // Same tie-break as ONNX ArgMax: the first maximum wins.
            var predicted = probabilities[(2 * i) + 1] > probabilities[2 * i] ? 1 : 0;
            correct += predicted == labels[i] ? 1 : 0;
        }

        return (double)correct / labels.Length;
    }

    public static double LogLoss(float[] probabilities, int[] labels)
    {
        var total = 0.0;
        for (var i = 0; i < labels.Length; i++)
        {
            var p = Math.Max(probabilities[(2 * i) + labels[i]], 1e-7f);
            total -= DeterministicMath.Log(p);
        }

        return total / labels.Length;
    }

    /// <summary>
    /// ROC AUC of the positive-class probability via the Mann-Whitney U statistic, with tied
    /// scores sharing their average rank.
    /// </summary>
    public static double RocAuc(float[] probabilities, int[] labels)
    {
        var n = labels.Length;
        var order = Enumerable.Range(0, n).OrderBy(i => probabilities[(2 * i) + 1]).ToArray();
        var positiveRankSum = 0.0;
        var positives = 0;
        for (var start = 0; start < n;)
        {
            var end = start;
            var score = probabilities[(2 * order[start]) + 1];
            while (end < n && probabilities[(2 * order[end]) + 1] == score)
            {
                end++;
            }

            var averageRank = ((start + 1) + end) / 2.0;
            for (var i = start; i < end; i++)
            {
                if (labels[order[i]] == 1)
                {
                    positiveRankSum += averageRank;
                    positives++;
                }
            }

            start = end;
        }

        var negatives = n - positives;
        return (positiveRankSum - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
    }
}
