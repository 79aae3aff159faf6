using Stratus.Inference.Batching;
using Stratus.Inference.Runtime;
using Stratus.Inference.Tests.Support;

namespace Stratus.Inference.Tests.Server;

/// <summary>Models with several input types, scalars, and state tensors, checked against values worked out by hand.</summary>
public sealed class MixedModelTests
{
    [Fact]
    public async Task Infer_MultiInputModel_ComputesByHandValues()
    {
        await using var replica = await TestReplica.StartAsync(TestModels.MultiInput, "multi-input");

        var response = await replica.InferOkAsync(await File.ReadAllTextAsync(TestModels.Path("multi-input.request.json")));

        // Row 0: features 1,2,3,4 masked by T,F,T,T = 8; counts 1+2+3 = 6, half is 3: 11.
        // Row 1: 0.5,-1.5,2.5,-3.5 masked by F,T,T,F = 1; counts 10+0+5 = 15, half is 7.5: 8.5.
        Assert.Equal([11f, 8.5f], response.Output("score").Floats());
        Assert.Equal([2L, 1L], response.Output("score").ShapeOf());
        Assert.Equal([6L, 15L], response.Output("count_total").Longs());
        Assert.Equal(["alpha", "beta"], response.Output("tag_out").GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("example", response.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Infer_ScalarInput_IsServedUnbatched()
    {
        await using var replica = await TestReplica.StartAsync(TestModels.Scale, "scale");

        var response = await replica.InferOkAsync("""
            {"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data":[[1,2,3],[-1,0,0.5]]},
                       {"name":"factor","datatype":"FP32","shape":[],"data":[2.5]}]}
            """);

        Assert.False(replica.Host.Model!.Batcher.IsBatching);
        Assert.Contains("'factor' is a scalar", replica.Host.Model.Batcher.Explanation, StringComparison.Ordinal);
        Assert.Equal([2.5f, 5f, 7.5f, -2.5f, 0f, 1.25f], response.Output("y").Floats());
    }

    [Fact]
    public async Task Infer_ScalarGivenAsVector_Is400()
    {
        await using var replica = await TestReplica.StartAsync(TestModels.Scale, "scale");

        var error = await replica.InferErrorAsync("""
            {"inputs":[{"name":"x","datatype":"FP32","shape":[1,3],"data":[1,2,3]},
                       {"name":"factor","datatype":"FP32","shape":[1],"data":[2.5]}]}
            """, 400);

        Assert.Contains("input 'factor' has shape [1] but model 'scale' expects []", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_StateModel_IsServedUnbatchedAndCorrect()
    {
        await using var replica = await TestReplica.StartAsync(TestModels.State, "state");

        var response = await replica.InferOkAsync("""
            {"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
                       {"name":"state","datatype":"FP32","shape":[2,1,4],"data":[10,20,30,40,1,1,1,1]}]}
            """);

        Assert.False(replica.Host.Model!.Batcher.IsBatching);
        Assert.Contains("fixed leading dimension 2", replica.Host.Model.Batcher.Explanation, StringComparison.Ordinal);
        Assert.Equal([12f, 23f, 34f, 45f], response.Output("y").Floats());
        Assert.Equal([5f, 10f, 15f, 20f, 0.5f, 0.5f, 0.5f, 0.5f], response.Output("state_out").Floats());
        Assert.Equal([2L, 1L, 4L], response.Output("state_out").ShapeOf());
    }

    [Fact]
    public async Task Load_BatchingForcedOnForAStateModel_RefusesWithTheReason()
    {
        var host = Stratus.Inference.Server.ReplicaHost.Create(
            new() { ModelPath = TestModels.State, ModelName = "state", Port = 0, Batching = new BatchingOptions { Mode = BatchingMode.On } },
            logging => { });
        await using (host)
        {
            await host.StartAsync();

            var error = await Assert.ThrowsAsync<ModelLoadException>(() => host.ModelLoaded);

            Assert.Contains("batching was asked for but cannot be correct", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Load_CorruptModel_IsLiveButNeverReadyAndSaysWhy()
    {
        var host = Stratus.Inference.Server.ReplicaHost.Create(new() { ModelPath = TestModels.Corrupt, ModelName = "broken", Port = 0 }, logging => { });
        await using (host)
        {
            await host.StartAsync();
            var error = await Assert.ThrowsAsync<ModelLoadException>(() => host.ModelLoaded);
            using var client = new HttpClient { BaseAddress = host.Address };

            Assert.Contains("ONNX Runtime cannot load 'corrupt.onnx'", error.Message, StringComparison.Ordinal);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("v2/health/live")).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await client.GetAsync("v2/health/ready")).StatusCode);
            using var response = await client.PostAsync("v2/models/broken/infer", new StringContent("{}"));
            Assert.Contains("failed to load", await TestReplica.ReadErrorAsync(response, 503), StringComparison.Ordinal);
        }
    }
}
