using System.Globalization;
using System.Text;
using Stratus.ModelGen.Numerics;
using Stratus.ModelGen.Onnx;
using Stratus.ModelGen.Output;
using Stratus.ModelGen.Training;

namespace Stratus.ModelGen.Models;

/// <summary>
/// credit-risk.onnx: an MLP trained here on synthetic applicants, with the input
/// standardisation baked into the graph so clients send raw feature values.
/// Also writes a held-out fixture (expected outputs from our own float32 forward pass)
/// and an example KServe v2 request.
/// </summary>
internal static class CreditRiskModel
{
    public const string FileName = "credit-risk.onnx";
    public const string RetrainedFileName = "credit-risk-v2.onnx";
    public const string RetrainedSummary =
        "The same classifier retrained on another draw of applicants for fewer epochs: the same signature as `credit-risk.onnx`, " +
        "probabilities that differ by a few percent, mostly the same labels (a realistic next version for shadow and canary rollouts).";
    public const string FixtureFileName = "credit-risk.fixture.json";
    public const string RequestFileName = "credit-risk.request.json";
    public const string Summary =
        "Trained credit-risk classifier (MLP 12-32-16-2, standardisation in-graph). " +
        "In: `features` FP32 [batch, 12] raw values. Out: `probabilities` FP32 [batch, 2] " +
        "(softmax; col 0 = repaid, col 1 = default), `label` INT64 [batch] (argmax).";

    private const int Seed = 20240611;
    private const int RowCount = 20_000;
    private const int TrainRowCount = 16_000;
    private const int FixtureRowCount = 16;
    private static readonly int[] LayerSizes = [CreditDataset.FeatureCount, 32, 16, 2];

    private static readonly string[] FeatureUnits =
    [
        "years", "USD per year", "ratio 0-1", "ratio 0-1", $"months, {CreditDataGenerator.NoDelinquencyMonths} = none on file",
        "count", "count", "USD", "months", "years", "0/1", "years",
    ];

    // Two hand-written applicants for the example request, in feature order.
    private static readonly float[] LowRiskApplicant = [46, 98_000, 0.12f, 0.08f, 120, 7, 0, 12_000, 36, 14, 1, 22];
    private static readonly float[] HighRiskApplicant = [23, 26_500, 0.48f, 0.94f, 2, 9, 4, 24_000, 72, 0.5f, 0, 3];

    public static CreditRiskReport Write(OutputDirectory output, TextWriter log)
    {
        var (mlp, standardizer, report, test) = Train(Seed, epochs: 12, log);
        output.WriteBytes(FileName, BuildGraph(mlp, standardizer, report).ToModelBytes());
        output.WriteText(FixtureFileName, BuildFixture(test, mlp, standardizer));
        output.WriteText(RequestFileName, BuildRequest(mlp, standardizer, log));
        return report;
    }

    /// <summary>credit-risk-v2.onnx: the same network trained from another seed for 4 epochs.</summary>
    public static void WriteRetrained(OutputDirectory output, TextWriter log)
    {
        log.WriteLine("credit-risk-v2 (retrained):");
        var (mlp, standardizer, report, _) = Train(Seed + 1, epochs: 4, log);
        output.WriteBytes(RetrainedFileName, BuildGraph(mlp, standardizer, report).ToModelBytes());
    }

    private static (Mlp Mlp, Standardizer Standardizer, CreditRiskReport Report, CreditDataset Test) Train(int seed, int epochs, TextWriter log)
    {
        var rng = new RandomSource(seed);
        var data = CreditDataGenerator.Generate(RowCount, rng);
        var train = data.Slice(0, TrainRowCount);
        var test = data.Slice(TrainRowCount, RowCount - TrainRowCount);
        log.WriteLine(FormattableString.Invariant(
            $"credit-risk: {train.Count} train / {test.Count} test rows, default rate {train.DefaultRate * 100:F1}% / {test.DefaultRate * 100:F1}%"));

        var standardizer = Standardizer.Fit(train.Features, CreditDataset.FeatureCount);
        var mlp = new Mlp(LayerSizes, rng);
        var trainer = new MlpTrainer(mlp, rng) { Epochs = epochs, BatchSize = 64, LearningRate = 0.003f, LearningRateDecay = 0.8f };
        trainer.Train(
            standardizer.Apply(train.Features),
            train.Labels,
            (epoch, loss) => log.WriteLine(FormattableString.Invariant($"  epoch {epoch,2}: train loss {loss:F4}")));

        var trainProbabilities = mlp.Predict(standardizer.Apply(train.Features), train.Count);
        var testProbabilities = mlp.Predict(standardizer.Apply(test.Features), test.Count);
        var report = new CreditRiskReport(
            train.Count,
            test.Count,
            train.DefaultRate,
            test.DefaultRate,
            ClassificationMetrics.Accuracy(trainProbabilities, train.Labels),
            ClassificationMetrics.Accuracy(testProbabilities, test.Labels),
            ClassificationMetrics.RocAuc(trainProbabilities, train.Labels),
            ClassificationMetrics.RocAuc(testProbabilities, test.Labels),
            ClassificationMetrics.LogLoss(testProbabilities, test.Labels),
            trainer.Epochs);
        log.WriteLine(FormattableString.Invariant(
            $"  accuracy train {report.TrainAccuracy:F4} test {report.TestAccuracy:F4} (majority-class baseline {1 - report.TestDefaultRate:F4})"));
        log.WriteLine(FormattableString.Invariant(
            $"  ROC AUC  train {report.TrainAuc:F4} test {report.TestAuc:F4}; test log loss {report.TestLogLoss:F4}"));

        return (mlp, standardizer, report, test);
    }

    private static OnnxGraphBuilder BuildGraph(Mlp mlp, Standardizer standardizer, CreditRiskReport report)
    {
        var featureList = string.Join(", ", CreditDataset.FeatureNames.Select((name, i) => $"{i}: {name} ({FeatureUnits[i]})"));
        var graph = new OnnxGraphBuilder("credit_risk")
            .DocString(
                "Credit-risk classifier trained on synthetic loan applicants (Stratus.ModelGen). " +
                $"Input 'features' FP32 [batch, {CreditDataset.FeatureCount}] of raw values in this order: {featureList}. " +
                "Outputs 'probabilities' [batch, 2] (column 0 = repaid, column 1 = default) and 'label' [batch] (1 = default).")
            .Metadata("feature_names", string.Join(",", CreditDataset.FeatureNames))
            .Metadata("class_names", "repaid,default")
            .Metadata("test_accuracy", report.TestAccuracy.ToString("F4", CultureInfo.InvariantCulture))
            .Metadata("test_auc", report.TestAuc.ToString("F4", CultureInfo.InvariantCulture))
            .Input("features", OnnxDataType.Float, "batch", CreditDataset.FeatureCount)
            .Output("probabilities", OnnxDataType.Float, "batch", 2)
            .Output("label", OnnxDataType.Int64, "batch")
            .Initializer("mean", standardizer.Mean, CreditDataset.FeatureCount)
            .Initializer("inv_std", standardizer.InvStd, CreditDataset.FeatureCount)
            .Node("Sub", ["features", "mean"], ["centered"])
            .Node("Mul", ["centered", "inv_std"], ["standardized"]);

        var current = "standardized";
        for (var l = 0; l < mlp.LayerCount; l++)
        {
            int inSize = mlp.LayerSizes[l], outSize = mlp.LayerSizes[l + 1];
            var last = l == mlp.LayerCount - 1;
            var gemmOut = last ? "logits" : $"dense{l + 1}";
            graph.Initializer($"W{l + 1}", mlp.Weights[l], inSize, outSize)
                .Initializer($"b{l + 1}", mlp.Biases[l], outSize)
                .Node("Gemm", [current, $"W{l + 1}", $"b{l + 1}"], [gemmOut]);
            current = gemmOut;
            if (!last)
            {
                graph.Node("Relu", [gemmOut], [$"hidden{l + 1}"]);
                current = $"hidden{l + 1}";
            }
        }

        return graph
            .Node("Softmax", [current], ["probabilities"], a => a.Int("axis", 1))
            .Node("ArgMax", ["probabilities"], ["label"], a => a.Int("axis", 1).Int("keepdims", 0));
    }

    /// <summary>
    /// Held-out rows with the outputs our own float32 forward pass produces for them. With a
    /// ~16% default rate the first rows would almost all be "repaid", so the fixture takes the
    /// first half predicted repaid and the first half predicted default, kept in held-out order.
    /// </summary>
    private static string BuildFixture(CreditDataset test, Mlp mlp, Standardizer standardizer)
    {
        var allProbabilities = mlp.Predict(standardizer.Apply(test.Features), test.Count);
        var perClass = FixtureRowCount / 2;
        var picked = Enumerable.Range(0, test.Count).Where(i => ArgMax(allProbabilities, i) == 0).Take(perClass)
            .Concat(Enumerable.Range(0, test.Count).Where(i => ArgMax(allProbabilities, i) == 1).Take(perClass))
            .Order()
            .ToArray();
        var rowFeatures = picked.SelectMany(i => test.Row(i).ToArray()).ToArray();

        // Recomputed on just these rows, exactly as a 16-row request to the model would be.
        var rows = new CreditDataset(rowFeatures, picked.Select(i => test.Labels[i]).ToArray());
        var probabilities = mlp.Predict(standardizer.Apply(rows.Features), FixtureRowCount);
        var featureLines = Enumerable.Range(0, FixtureRowCount)
            .Select(i => "    " + JsonText.Array(rows.Row(i).ToArray().Select(JsonText.Float)));
        var probabilityLines = Enumerable.Range(0, FixtureRowCount)
            .Select(i => "    " + JsonText.Array(probabilities.AsSpan(2 * i, 2).ToArray().Select(JsonText.Float)));
        var labels = Enumerable.Range(0, FixtureRowCount)
            .Select(i => JsonText.Integer(ArgMax(probabilities, i)));

        var json = new StringBuilder();
        json.Append("{\n");
        json.Append("  \"features\": [\n").Append(string.Join(",\n", featureLines)).Append("\n  ],\n");
        json.Append("  \"probabilities\": [\n").Append(string.Join(",\n", probabilityLines)).Append("\n  ],\n");
        json.Append("  \"label\": ").Append(JsonText.Array(labels)).Append('\n');
        json.Append("}\n");
        return json.ToString();
    }

    private static string BuildRequest(Mlp mlp, Standardizer standardizer, TextWriter log)
    {
        float[] rows = [.. LowRiskApplicant, .. HighRiskApplicant];
        var probabilities = mlp.Predict(standardizer.Apply(rows), 2);
        log.WriteLine(FormattableString.Invariant(
            $"  example request: P(default) low-risk {probabilities[1]:F4}, high-risk {probabilities[3]:F4}"));
        return new InferenceRequestJson("example")
            .Input("features", "FP32", [2, CreditDataset.FeatureCount], rows.Select(JsonText.Float))
            .ToString();
    }

    // ONNX ArgMax semantics: the first maximum wins ties.
    private static long ArgMax(float[] probabilities, int row) =>
        probabilities[(2 * row) + 1] > probabilities[2 * row] ? 1 : 0;
}
