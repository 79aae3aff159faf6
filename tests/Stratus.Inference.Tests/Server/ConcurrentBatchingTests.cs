using Stratus.Inference.Tests.Support;

namespace Stratus.Inference.Tests.Server;

/// <summary>Many callers at once, good and bad mixed, with dynamic batching on: every good answer is its own.</summary>
public sealed class ConcurrentBatchingTests
{
    private readonly CreditRiskFixture _fixture = CreditRiskFixture.Load();

    private static readonly string[] BadRequests =
    [
        "{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP32\",\"shape\":[1,12],\"data\":[1,2]}]}",
        "{\"inputs\":[{\"name\":\"features\",\"datatype\":\"INT32\",\"shape\":[1,12],\"data\":[1,2,3,4,5,6,7,8,9,10,11,12]}]}",
        "{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP32\",\"shape\":[1,13],\"data\":[1,2,3,4,5,6,7,8,9,10,11,12,13]}]}",
        "{\"inputs\":[{\"name\":\"nope\",\"datatype\":\"FP32\",\"shape\":[1,12],\"data\":[1,2,3,4,5,6,7,8,9,10,11,12]}]}",
        "{\"inputs\":[{\"name\":\"features\",",
    ];

    [Fact]
    public async Task Infer_MixedGoodAndBadConcurrentRequests_GoodOnesGetTheirOwnAnswersInFewerRuns()
    {
        // A generous delay makes batches form however slowly this machine schedules the callers.
        await using var replica = await TestReplica.StartAsync(TestModels.CreditRisk, "credit-risk", o =>
        {
            o.Batching.MaxBatchSize = 16;
            o.Batching.MaxQueueDelay = TimeSpan.FromMilliseconds(200);
        });
        var random = new Random(42);
        var jobs = Enumerable.Range(0, 64).Select(i => i % 4 == 3
            ? (Good: false, Start: 0, Count: 0, Body: BadRequests[i % BadRequests.Length])
            : (Good: true, Start: random.Next(0, 14), Count: random.Next(1, 3), Body: string.Empty)).ToArray();

        await Task.WhenAll(jobs.Select(async job =>
        {
            if (!job.Good)
            {
                await replica.InferErrorAsync(job.Body, 400);
                return;
            }

            var response = await replica.InferOkAsync(_fixture.Request(job.Start, job.Count, id: $"{job.Start}-{job.Count}"));
            Assert.Equal($"{job.Start}-{job.Count}", response.GetProperty("id").GetString());
            Assert.Equal(_fixture.Labels.Skip(job.Start).Take(job.Count), response.Output("label").Longs());
            var probabilities = response.Output("probabilities").Floats();
            for (var row = 0; row < job.Count; row++)
            {
                Assert.Equal(_fixture.Probabilities[job.Start + row][1], probabilities[(row * 2) + 1], 1e-5f);
            }
        }));

        var good = jobs.Count(j => j.Good);
        Assert.True(replica.Host.Metrics.Runs < good, $"{replica.Host.Metrics.Runs} runs for {good} good requests: nothing was batched");
        var metrics = await replica.Client.GetStringAsync("metrics");
        Assert.Contains($"outcome=\"success\"}} {good}", metrics, StringComparison.Ordinal);
        Assert.Contains($"outcome=\"failure\"}} {jobs.Length - good}", metrics, StringComparison.Ordinal);
    }
}
