namespace Stratus.ModelGen.Training;

/// <summary>Tabular credit data: row-major float32 features plus 0/1 labels (1 = default).</summary>
internal sealed class CreditDataset
{
    public const int FeatureCount = 12;

    /// <summary>Column order of the model's <c>features</c> input; published in the model metadata.</summary>
    public static readonly string[] FeatureNames =
    [
        "age",
        "annual_income",
        "debt_to_income",
        "credit_utilization",
        "months_since_last_delinquency",
        "num_open_accounts",
        "num_late_payments_12m",
        "loan_amount",
        "loan_term_months",
        "employment_years",
        "home_owner",
        "credit_history_years",
    ];

    public CreditDataset(float[] features, int[] labels)
    {
        if (features.Length != labels.Length * FeatureCount)
        {
            throw new ArgumentException("Feature matrix does not match the label count.", nameof(features));
        }

        Features = features;
        Labels = labels;
    }

    public float[] Features { get; }

    public int[] Labels { get; }

    public int Count => Labels.Length;

    public ReadOnlySpan<float> Row(int index) => Features.AsSpan(index * FeatureCount, FeatureCount);

    public CreditDataset Slice(int start, int count) =>
        new(Features.AsSpan(start * FeatureCount, count * FeatureCount).ToArray(), Labels.AsSpan(start, count).ToArray());

    public double DefaultRate => Labels.Average();
}
