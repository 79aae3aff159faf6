using Stratus.ModelGen.Numerics;

namespace Stratus.ModelGen.Training;

/// <summary>
/// Synthetic loan applicants from a small generative story. An unobserved "financial stress"
/// factor ties utilisation, late payments, delinquencies, debt-to-income and income together
/// (so features are correlated the way real bureau data is), and the default outcome is drawn
/// from a nonlinear logistic ground truth plus the unobserved stress and noise, so no model can
/// be perfect. Values are rounded to the granularity a real application form would have.
/// </summary>
internal static class CreditDataGenerator
{
    // Cap used for "no delinquency on file": bureaus typically look back 10 years.
    public const int NoDelinquencyMonths = 120;

    private static readonly int[] LoanTerms = [12, 24, 36, 48, 60, 72];

    public static CreditDataset Generate(int count, RandomSource rng)
    {
        var features = new float[count * CreditDataset.FeatureCount];
        var labels = new int[count];
        Span<double> row = stackalloc double[CreditDataset.FeatureCount];
        for (var i = 0; i < count; i++)
        {
            labels[i] = SampleApplicant(rng, row) ? 1 : 0;
            for (var j = 0; j < row.Length; j++)
            {
                features[(i * CreditDataset.FeatureCount) + j] = (float)row[j];
            }
        }

        return new CreditDataset(features, labels);
    }

    /// <summary>Fills <paramref name="row"/> in <see cref="CreditDataset.FeatureNames"/> order; returns whether the applicant defaults.</summary>
    private static bool SampleApplicant(RandomSource rng, Span<double> row)
    {
        var stress = rng.NextNormal();

        var age = Math.Clamp(Math.Round(rng.NextNormal(41, 12)), 21, 75);
        var adultYears = age - 18;
        var employmentYears = Math.Round(adultYears * DeterministicMath.Sigmoid(rng.NextNormal(-0.6, 1.0) - (0.4 * stress)), 1);
        var creditHistoryYears = Math.Round(adultYears * DeterministicMath.Sigmoid(rng.NextNormal(0.8, 0.8)), 1);

        // Log-normal income peaking in the late 40s, rising with tenure, lower under stress.
        var centeredAge = age - 40;
        var logIncome = 10.75 + (0.018 * centeredAge) - (0.0007 * centeredAge * centeredAge)
            + (0.015 * Math.Min(employmentYears, 20)) - (0.12 * stress) + rng.NextNormal(0, 0.38);
        var income = Math.Clamp(RoundToMultiple(DeterministicMath.Exp(logIncome), 100), 12_000, 450_000);
        logIncome = DeterministicMath.Log(income);

        var homeOwner = rng.NextBernoulli(DeterministicMath.Sigmoid(
            -1.6 + (0.06 * (age - 35)) + (1.1 * (logIncome - 10.9)) - (0.3 * stress))) ? 1.0 : 0.0;

        var loanAmount = Math.Clamp(
            RoundToMultiple(DeterministicMath.Exp(logIncome - 1.5 + (0.1 * stress) + rng.NextNormal(0, 0.45)), 250),
            1_000,
            200_000);
        var loanToIncome = loanAmount / income;
        var termIndex = (int)Math.Clamp(Math.Round(1.5 + (6 * loanToIncome) + rng.NextNormal(0, 0.9)), 0, LoanTerms.Length - 1);
        double loanTerm = LoanTerms[termIndex];

        var debtToIncome = Math.Clamp(
            Math.Round(0.22 + (0.07 * stress) - (0.05 * (logIncome - 10.9)) + rng.NextNormal(0, 0.08), 3), 0, 0.95);
        var utilization = Math.Round(DeterministicMath.Sigmoid(-0.9 + (0.9 * stress) + rng.NextNormal(0, 0.7)), 3);
        var openAccounts = Math.Min(
            rng.NextPoisson(1.5 + (0.25 * creditHistoryYears) + (0.8 * Math.Max(0, stress))), 40);
        var latePayments = Math.Min(rng.NextPoisson(DeterministicMath.Exp(-1.6 + (0.8 * stress))), 12);

        // A late payment in the last year implies a recent delinquency; otherwise maybe an older one.
        double monthsSinceDelinquency;
        if (latePayments > 0)
        {
            monthsSinceDelinquency = rng.NextInt(12);
        }
        else if (rng.NextBernoulli(DeterministicMath.Sigmoid(-1.2 + (1.1 * stress))))
        {
            monthsSinceDelinquency = 12 + rng.NextInt(NoDelinquencyMonths - 12);
        }
        else
        {
            monthsSinceDelinquency = NoDelinquencyMonths;
        }

        row[0] = age;
        row[1] = income;
        row[2] = debtToIncome;
        row[3] = utilization;
        row[4] = monthsSinceDelinquency;
        row[5] = openAccounts;
        row[6] = latePayments;
        row[7] = loanAmount;
        row[8] = loanTerm;
        row[9] = employmentYears;
        row[10] = homeOwner;
        row[11] = creditHistoryYears;

        // Ground truth: thresholds (maxed-out cards, over-borrowing), saturating and decaying
        // effects (late payments, recency), a U-shaped age effect and a DTI x utilisation interaction.
        var logit = -2.5
            + (2.6 * (debtToIncome - 0.25))
            + (1.8 * utilization) + (2.2 * Math.Max(0, utilization - 0.75))
            + (0.9 * DeterministicMath.Log(1 + latePayments))
            + (1.3 * DeterministicMath.Exp(-monthsSinceDelinquency / 12))
            + (1.8 * Math.Max(0, loanToIncome - 0.3))
            - (0.7 * homeOwner)
            - (0.05 * Math.Min(employmentYears, 10))
            - (0.04 * Math.Min(creditHistoryYears, 20))
            + (0.0012 * (age - 45) * (age - 45))
            + (loanTerm >= 60 ? 0.35 : 0)
            + (2.0 * (debtToIncome - 0.25) * (utilization - 0.4))
            + (0.35 * stress)
            + rng.NextNormal(0, 0.3);
        return rng.NextBernoulli(DeterministicMath.Sigmoid(logit));
    }

    private static double RoundToMultiple(double value, double step) => Math.Round(value / step) * step;
}
