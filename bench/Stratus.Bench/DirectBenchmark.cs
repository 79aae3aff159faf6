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
/// difference to an HTTP request for the same batch is what HTTP, JSON and the scheduler add. For the breakdown it
/// also times the replica's JSON codec alone on the same request body and result.
/// </summary>
internal sealed class DirectBenchmark(OnnxModelHost host, RequestRow row, string modelName)
{
    /// <summary>Runs <paramref name="warmup"/> untimed then <paramref name="runs"/> timed runs of <paramref name="rows"/> copies of the row.</summary>
    public DirectResult Measure(int rows, int warmup, int runs)
    {
        var values = new float[rows * row.Values.Length];
        for (var r = 0; r < rows; r++)
        {
            row.Values.CopyTo(values, r * row.Values.Length);
        }

        InferTensor[] inputs =
        [
            new InferTensor
            {
                Name = row.Name,
                DataType = TensorDataType.Fp32,
                Shape = [rows, .. row.RowShape],
                Raw = MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            },
        ];
        var (model, runsPerSecond) = Sample(warmup, runs, () => host.Run(inputs).Dispose());

        var body = row.ToRequestBody(rows);
        var (decode, _) = Sample(warmup, runs, () => InferenceRequestDecoder.Decode(body, headerLength: null).Dispose());
        using var result = host.Run(inputs);
        ResponseOutput[] outputs = [.. result.Outputs.Select(o => new ResponseOutput(o, Binary: false))];
        var (encode, _) = Sample(warmup, runs, () =>
        {
            using var writer = new PooledBufferWriter(16 * 1024);
            InferenceResponseEncoder.Encode(writer, modelName, "1", "bench", outputs);
        });

        return new DirectResult(rows, runs, Percentile(model, 50), Percentile(model, 99), model.Average(), runsPerSecond, decode.Average(), encode.Average());
    }

    /// <summary>Sorted per-call microseconds of <paramref name="runs"/> sequential calls, and calls per second over them all.</summary>
    private static (double[] Micros, double PerSecond) Sample(int warmup, int runs, Action action)
    {
        // At least half a second as well as a count, so tiered JIT has promoted the hot code before timing starts.
        var warming = Stopwatch.StartNew();
        for (var i = 0; i < warmup || warming.ElapsedMilliseconds < 500; i++)
        {
            action();
        }

        var micros = new double[runs];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < runs; i++)
        {
            var started = Stopwatch.GetTimestamp();
            action();
            micros[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        }

        total.Stop();
        Array.Sort(micros);
        return (micros, runs / total.Elapsed.TotalSeconds);
    }

    /// <summary>Nearest-rank percentile of sorted samples.</summary>
    private static double Percentile(double[] sorted, double percent)
    {
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

internal sealed record DirectResult(
    int Rows, int Runs, double P50Micros, double P99Micros, double MeanMicros, double RunsPerSecond, double DecodeMeanMicros, double EncodeMeanMicros)
{
    /// <summary>One line of <c>key=value</c> pairs for bench/replica-load.sh to parse.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"DIRECT batch={Rows} runs={Runs} p50_us={P50Micros:F1} p99_us={P99Micros:F1} mean_us={MeanMicros:F1} runs_per_s={RunsPerSecond:F1} json_decode_us={DecodeMeanMicros:F1} json_encode_us={EncodeMeanMicros:F1}");
}
