using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Stratus.Core.Models;
using Stratus.Inference.Protocol;
using Stratus.Inference.Runtime;

namespace Stratus.Bench;

/// <summary>
/// Times sequential in-process runs through <see cref="OnnxModelHost"/>, the class the replica itself runs the model
/// with (same session options from <see cref="SessionSettings"/>, same pinned input and copied-out output), so the
/// difference to an HTTP request for the same batch is what HTTP, JSON and the scheduler add.
/// </summary>
internal sealed class DirectBenchmark(OnnxModelHost host, RequestRow row)
{
    /// <summary>Runs <paramref name="warmup"/> untimed then <paramref name="runs"/> timed runs of <paramref name="rows"/> copies of the row.</summary>
    public DirectResult Measure(int rows, int warmup, int runs)
    {
        var values = new float[rows * row.Values.Length];
        for (var r = 0; r < rows; r++)
        {
            row.Values.CopyTo(values, r * row.Values.Length);
        }

        var input = new InferTensor
        {
            Name = row.Name,
            DataType = TensorDataType.Fp32,
            Shape = [rows, .. row.RowShape],
            Raw = MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
        };
        InferTensor[] inputs = [input];

        for (var i = 0; i < warmup; i++)
        {
            host.Run(inputs).Dispose();
        }

        var micros = new double[runs];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < runs; i++)
        {
            var started = Stopwatch.GetTimestamp();
            host.Run(inputs).Dispose();
            micros[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        }

        total.Stop();
        Array.Sort(micros);
        return new DirectResult(rows, runs, Percentile(micros, 50), Percentile(micros, 99), micros.Average(), runs / total.Elapsed.TotalSeconds);
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    private static double Percentile(double[] sorted, double percent)
    {
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

internal sealed record DirectResult(int Rows, int Runs, double P50Micros, double P99Micros, double MeanMicros, double RunsPerSecond)
{
    /// <summary>One line of <c>key=value</c> pairs for bench/replica-load.sh to parse.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"DIRECT batch={Rows} runs={Runs} p50_us={P50Micros:F1} p99_us={P99Micros:F1} mean_us={MeanMicros:F1} runs_per_s={RunsPerSecond:F1}");
}
