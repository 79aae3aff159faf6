using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Stratus.Inference.Batching;
using Stratus.Inference.Protocol;
using Stratus.Inference.Runtime;
using Stratus.Inference.Server;
using Stratus.Inference.Tests.Support;

namespace Stratus.Inference.Tests.Batching;

public sealed class DynamicBatcherTests
{
    private readonly CreditRiskFixture _fixture = CreditRiskFixture.Load();

    private static InferTensor Floats(string name, float[] values, params long[] shape) =>
        new() { Name = name, DataType = Core.Models.TensorDataType.Fp32, Shape = shape, Raw = MemoryMarshal.AsBytes(values.AsSpan()).ToArray() };

    private InferTensor Rows(int start, int count) =>
        Floats("features", [.. _fixture.Features.Skip(start).Take(count).SelectMany(r => r)], count, 12);

    private static DynamicBatcher Create(OnnxModelHost model, ReplicaMetrics metrics, int maxBatchSize, TimeSpan delay) =>
        new(model, new BatchingOptions { MaxBatchSize = maxBatchSize, MaxQueueDelay = delay }, metrics, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public async Task SubmitAsync_RequestsFillingABatch_RunOnceAndSplitBackExactly()
    {
        using var model = OnnxModelHost.Load(TestModels.CreditRisk);
        var metrics = new ReplicaMetrics("credit-risk", "1");
        using var batcher = Create(model, metrics, maxBatchSize: 10, delay: TimeSpan.FromSeconds(30));

        // 1 + 2 + 3 + 4 rows fill the batch of 10 exactly, so the run starts without waiting out the delay.
        var tasks = new[] { (0, 1), (1, 2), (3, 3), (6, 4) }.Select(r => (r.Item1, r.Item2, batcher.SubmitAsync([Rows(r.Item1, r.Item2)], CancellationToken.None))).ToArray();

        foreach (var (start, count, task) in tasks)
        {
            using var result = await task;
            var probabilities = MemoryMarshal.Cast<byte, float>(result.Find("probabilities")!.Raw.Span).ToArray();
            var labels = MemoryMarshal.Cast<byte, long>(result.Find("label")!.Raw.Span).ToArray();
            Assert.Equal([count, 2L], result.Find("probabilities")!.Shape);
            Assert.Equal([(long)count], result.Find("label")!.Shape);
            for (var row = 0; row < count; row++)
            {
                Assert.Equal(_fixture.Probabilities[start + row][1], probabilities[(row * 2) + 1], 1e-5f);
                Assert.Equal(_fixture.Labels[start + row], labels[row]);
            }
        }

        Assert.True(batcher.IsBatching);
        Assert.Equal(1, metrics.Runs);
    }

    [Fact]
    public async Task SubmitAsync_DifferentSequenceLengths_AreNeverMerged()
    {
        using var model = OnnxModelHost.Load(TestModels.Path("sequence.onnx"));
        var metrics = new ReplicaMetrics("sequence", "1");
        using var batcher = Create(model, metrics, maxBatchSize: 2, delay: TimeSpan.FromMilliseconds(300));

        var a = batcher.SubmitAsync([Floats("tokens", [1, 2, 3], 1, 3)], CancellationToken.None);
        var b = batcher.SubmitAsync([Floats("tokens", [10, 20, 30], 1, 3)], CancellationToken.None);
        var c = batcher.SubmitAsync([Floats("tokens", [1, 1, 1, 1, 1], 1, 5)], CancellationToken.None);

        Assert.Equal(6f, await Total(a));
        Assert.Equal(60f, await Total(b));
        Assert.Equal(5f, await Total(c));

        // a and b share a shape and fill the batch; c has another length and runs on its own.
        Assert.Equal(2, metrics.Runs);
    }

    [Fact]
    public async Task SubmitAsync_BatchingOff_RunsEachRequestAlone()
    {
        using var model = OnnxModelHost.Load(TestModels.CreditRisk);
        var metrics = new ReplicaMetrics("credit-risk", "1");
        using var batcher = new DynamicBatcher(model, new BatchingOptions { Mode = BatchingMode.Off, MaxQueueDelay = TimeSpan.FromSeconds(30) }, metrics, TimeProvider.System, NullLogger.Instance);

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => batcher.SubmitAsync([Rows(i, 1)], CancellationToken.None)));

        Assert.False(batcher.IsBatching);
        Assert.Equal("batching is off", batcher.Explanation);
        Assert.Equal(4, metrics.Runs);
        foreach (var result in results)
        {
            result.Dispose();
        }
    }

    [Fact]
    public async Task SubmitAsync_CancelledBeforeItsRun_IsDroppedWithoutRunning()
    {
        using var model = OnnxModelHost.Load(TestModels.CreditRisk);
        var metrics = new ReplicaMetrics("credit-risk", "1");
        using var batcher = Create(model, metrics, maxBatchSize: 4, delay: TimeSpan.FromMilliseconds(200));
        using var cancel = new CancellationTokenSource();

        var kept = batcher.SubmitAsync([Rows(0, 1)], CancellationToken.None);
        var dropped = batcher.SubmitAsync([Rows(1, 1)], cancel.Token);
        await cancel.CancelAsync();

        using var result = await kept;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dropped);
        Assert.Equal([1L, 2L], result.Find("probabilities")!.Shape);
    }

    [Fact]
    public void SubmitAsync_AfterDispose_IsRefused()
    {
        using var model = OnnxModelHost.Load(TestModels.CreditRisk);
        var batcher = Create(model, new ReplicaMetrics("credit-risk", "1"), maxBatchSize: 4, delay: TimeSpan.Zero);

        batcher.Dispose();

        Assert.Throws<ObjectDisposedException>(() => { _ = batcher.SubmitAsync([Rows(0, 1)], CancellationToken.None); });
    }

    private static async Task<float> Total(Task<InferenceResult> task)
    {
        using var result = await task;
        return MemoryMarshal.Cast<byte, float>(result.Find("total")!.Raw.Span)[0];
    }
}
