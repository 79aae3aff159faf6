using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Stratus.Inference.Tests.Support;
using Stratus.Testing;

namespace Stratus.Inference.Tests.Server;

/// <summary>
/// Published third-party models (models/third-party.tsv) served by a real replica answer exactly as an in-process
/// ONNX Runtime session given the same tensors. The reference reads the request JSON itself and runs its own
/// session, so it shares no code with the replica's decoder or host.
/// </summary>
public sealed class ThirdPartyModelTests(ThirdPartyModelFixture fixture) : IClassFixture<ThirdPartyModelFixture>
{
    public static TheoryData<string, int> Requests()
    {
        var data = new TheoryData<string, int>();
        foreach (var model in ThirdPartyModels.All)
        {
            for (var i = 0; i < model.Requests.Count; i++)
            {
                data.Add(model.Name, i);
            }
        }

        return data;
    }

    public static TheoryData<string> Models() => [.. ThirdPartyModels.All.Select(m => m.Name)];

    public static TheoryData<string> RecurrentModels() => [ThirdPartyModels.SileroVadV5.Name, ThirdPartyModels.SileroVadLegacy.Name];

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Metadata_PublishedModel_ListsTheGraphsInputsAndOutputs(string name)
    {
        var model = Model(name);
        var replica = await fixture.ReplicaAsync(model);
        var session = fixture.Session(model);

        var metadata = JsonDocument.Parse(await replica.Client.GetStringAsync($"v2/models/{name}")).RootElement;

        AssertTensors(session.InputMetadata, metadata.GetProperty("inputs"));
        AssertTensors(session.OutputMetadata, metadata.GetProperty("outputs"));
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Infer_PublishedModelRequest_MatchesInProcessOnnxRuntime(string name, int request)
    {
        var model = Model(name);
        var replica = await fixture.ReplicaAsync(model);
        var json = model.Requests[request];

        var response = await replica.InferOkAsync(json);

        AssertMatches(fixture.Reference(model, json), response);
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Infer_BinaryDataOutput_DecodesToTheSameValues(string name, int request)
    {
        var model = Model(name);
        var replica = await fixture.ReplicaAsync(model);
        var json = model.Requests[request];
        var asJson = await replica.InferOkAsync(json);

        using var response = await replica.InferAsync("{\"parameters\":{\"binary_data_output\":true}," + json[1..]);
        var (header, binary) = await BinaryInference.ReadAsync(response);

        var reference = fixture.Reference(model, json);
        Assert.Equal(reference.Keys.Order(), binary.Keys.Order());
        foreach (var (output, expected) in reference)
        {
            var shape = header.Output(output).ShapeOf();
            var values = MemoryMarshal.Cast<byte, float>(binary[output]).ToArray();
            Assert.Equal("FP32", header.Output(output).GetProperty("datatype").GetString());
            AssertClose($"{name} {output}", expected, shape, values);
            // The JSON answer is the same run written as text: shortest round-trip floats give back every bit.
            Assert.Equal(asJson.Output(output).Floats(), values);
        }
    }

    [Fact]
    public async Task Infer_SileroV5SampleRateNot8kOr16k_Returns400ModelRejectedTheInputs()
    {
        var model = ThirdPartyModels.SileroVadV5;
        var replica = await fixture.ReplicaAsync(model);
        var json = ThirdPartyModels.SileroVadV5Request(ThirdPartyModels.Speech(16_000, 0, ThirdPartyModels.SileroChunk), 1, new float[2 * 128], sampleRate: 3);

        var error = await replica.InferErrorAsync(json, 400);

        Assert.Contains("the model rejected the inputs", error, StringComparison.Ordinal);
        var direct = Assert.Throws<OnnxRuntimeException>(() => fixture.Reference(model, json));
        Assert.Contains("InvalidArgument", direct.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(RecurrentModels))]
    public async Task Infer_SileroStateFedBackOverThreeChunks_MatchesInProcessChain(string name)
    {
        var model = Model(name);
        var replica = await fixture.ReplicaAsync(model);
        var v5 = model == ThirdPartyModels.SileroVadV5;
        string[] stateOutputs = v5 ? ["stateN"] : ["hn", "cn"];
        float[][] served = v5 ? [new float[2 * 128]] : [new float[2 * 64], new float[2 * 64]];
        var local = served;
        string Request(float[] audio, float[][] state) => v5
            ? ThirdPartyModels.SileroVadV5Request(audio, 1, state[0])
            : ThirdPartyModels.SileroVadLegacyRequest(audio, 1, state[0], state[1]);

        JsonElement response = default;
        Dictionary<string, (long[] Shape, float[] Data)> reference = [];
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var audio = ThirdPartyModels.Speech(16_000, chunk * ThirdPartyModels.SileroChunk, ThirdPartyModels.SileroChunk);
            response = await replica.InferOkAsync(Request(audio, served));
            reference = fixture.Reference(model, Request(audio, local));
            served = [.. stateOutputs.Select(o => response.Output(o).Floats())];
            local = [.. stateOutputs.Select(o => reference[o].Data)];
        }

        AssertMatches(reference, response);
    }

    [Fact]
    public async Task Infer_MelspectrogramChainedIntoEmbedding_MatchesInProcessChain()
    {
        var mel = ThirdPartyModels.OpenWakeWordMelspectrogram;
        var embedding = ThirdPartyModels.OpenWakeWordEmbedding;
        var melReplica = await fixture.ReplicaAsync(mel);
        var embeddingReplica = await fixture.ReplicaAsync(embedding);
        // 76 frames of 10 ms need 75 hops of 160 samples after a first 512-sample window.
        var pcm = ThirdPartyModels.Pcm16(ThirdPartyModels.Speech(16_000, 0, 512 + ((ThirdPartyModels.EmbeddingFrames - 1) * 160)));
        var melJson = ThirdPartyModels.MelspectrogramRequest(pcm, 1);

        var frames = await melReplica.InferOkAsync(melJson);
        var served = await embeddingReplica.InferOkAsync(ThirdPartyModels.EmbeddingRequest(Window(frames.Output("output").Floats()), 1));

        var localFrames = fixture.Reference(mel, melJson)["output"];
        Assert.Equal([1L, 1, ThirdPartyModels.EmbeddingFrames, ThirdPartyModels.MelBins], localFrames.Shape);
        AssertMatches(fixture.Reference(embedding, ThirdPartyModels.EmbeddingRequest(Window(localFrames.Data), 1)), served);

        // What openWakeWord does between the two models.
        static float[] Window(float[] melOutput) => [.. melOutput.Select(x => (x / 10) + 2)];
    }

    private static ThirdPartyModel Model(string name) => ThirdPartyModels.All.Single(m => m.Name == name);

    private static void AssertMatches(Dictionary<string, (long[] Shape, float[] Data)> reference, JsonElement response)
    {
        var names = response.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()!);
        Assert.Equal(reference.Keys.Order(), names.Order());
        foreach (var (name, expected) in reference)
        {
            var output = response.Output(name);
            Assert.Equal("FP32", output.GetProperty("datatype").GetString());
            AssertClose(name, expected, output.ShapeOf(), output.Floats());
        }
    }

    private static void AssertClose(string what, (long[] Shape, float[] Data) expected, long[] shape, float[] actual)
    {
        if (OnnxReference.Difference(what, expected, shape, actual) is { } difference)
        {
            Assert.Fail(difference);
        }
    }

    private static void AssertTensors(IReadOnlyDictionary<string, NodeMetadata> graph, JsonElement served)
    {
        var tensors = served.EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(graph.Keys.Order(), tensors.Keys.Order());
        foreach (var (name, node) in graph)
        {
            var datatype = node.ElementDataType switch
            {
                TensorElementType.Float => "FP32",
                TensorElementType.Int64 => "INT64",
                var other => throw new InvalidOperationException($"{name}: unexpected {other}"),
            };
            Assert.Equal(datatype, tensors[name].GetProperty("datatype").GetString());
            Assert.Equal(node.Dimensions.Select(d => (long)d), tensors[name].ShapeOf());
        }
    }
}

/// <summary>One replica and one reference session per third-party model, each started the first time a test needs it.</summary>
public sealed class ThirdPartyModelFixture : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, Lazy<Task<TestReplica>>> _replicas = new();
    private readonly ConcurrentDictionary<string, Lazy<InferenceSession>> _sessions = new();

    internal Task<TestReplica> ReplicaAsync(ThirdPartyModel model) =>
        _replicas.GetOrAdd(model.Name, _ => new Lazy<Task<TestReplica>>(() => TestReplica.StartAsync(model.Path, model.Name))).Value;

    internal InferenceSession Session(ThirdPartyModel model) =>
        _sessions.GetOrAdd(model.Name, _ => new Lazy<InferenceSession>(() => new InferenceSession(model.Path))).Value;

    /// <summary>Runs the request's inputs, read straight from its JSON, through the in-process session: every output by name.</summary>
    internal Dictionary<string, (long[] Shape, float[] Data)> Reference(ThirdPartyModel model, string json) => OnnxReference.Run(Session(model), json);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas.Values)
        {
            await (await replica.Value).DisposeAsync();
        }

        foreach (var session in _sessions.Values.Where(s => s.IsValueCreated))
        {
            session.Value.Dispose();
        }
    }
}
