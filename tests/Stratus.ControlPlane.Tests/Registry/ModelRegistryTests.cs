using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Tests.Store;
using Stratus.ControlPlane.Tests.Support;
using Stratus.Core.Models;

namespace Stratus.ControlPlane.Tests.Registry;

/// <summary>
/// Pushes of the repository's real sample models into a real SQLite file and content store, validated in a child
/// <c>stratus model inspect</c> process as the control plane validates them.
/// </summary>
public sealed class ModelRegistryTests : IAsyncLifetime
{
    private TempDatabase _temp = null!;
    private ModelRegistry _registry = null!;
    private DirectoryBlobStore _content = null!;

    public async Task InitializeAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        _content = new DirectoryBlobStore(Path.Combine(_temp.Folder, "models"));
        _registry = new ModelRegistry(_temp.Database, _content, TimeProvider.System, Validator);
    }

    public async Task DisposeAsync() => await _temp.DisposeAsync();

    private static ChildProcessModelValidator Validator { get; } = new(TestReplicas.Executable, new ModelValidationOptions());

    private static string Sample(string file) => Stratus.Testing.RepositoryFiles.Model(file);

    private async Task<ModelVersion> PushAsync(string name, string file)
    {
        await using var stream = File.OpenRead(Sample(file));
        return await _registry.PushAsync(name, stream, "admin");
    }

    [Fact]
    public async Task Push_ValidModel_StoresItByContentWithItsSignature()
    {
        var pushed = await PushAsync("credit-risk", "credit-risk.onnx");

        Assert.Equal(1, pushed.Version);
        Assert.Equal(new FileInfo(Sample("credit-risk.onnx")).Length, pushed.SizeBytes);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Sample("credit-risk.onnx")))), pushed.Sha256);
        Assert.True(File.ReadAllBytes(await _registry.LocalPathAsync(pushed)).AsSpan().SequenceEqual(File.ReadAllBytes(Sample("credit-risk.onnx"))));
        var input = Assert.Single(pushed.Signature.Inputs);
        Assert.Equal("features", input.Name);
        Assert.Equal(TensorDataType.Fp32, input.DataType);
        Assert.Equal([-1L, 12L], input.Shape);
    }

    [Fact]
    public async Task Push_SameNameAgain_NumbersTheNextVersionAndKeepsOneCopyOfIdenticalContent()
    {
        await PushAsync("risk", "credit-risk.onnx");
        var second = await PushAsync("risk", "credit-risk.onnx");
        var third = await PushAsync("risk", "multi-input.onnx");

        Assert.Equal(2, second.Version);
        Assert.Equal(3, third.Version);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_content.Root, "sha256"), "*", SearchOption.AllDirectories).Length);
        var listed = await _registry.ListAsync("risk");
        Assert.Equal([1, 2, 3], listed.Select(v => v.Version));
        Assert.Equal(["tag"], listed[2].Signature.Inputs.Where(i => i.DataType == TensorDataType.Bytes).Select(i => i.Name));
    }

    [Fact]
    public async Task Push_ConcurrentPushesOfOneName_GetDistinctVersions()
    {
        var versions = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => PushAsync("risk", "credit-risk.onnx")));

        Assert.Equal([1, 2, 3, 4, 5, 6], versions.Select(v => v.Version).Order());
    }

    [Fact]
    public async Task Push_CorruptModel_IsRefusedWithTheRuntimesReasonAndLeavesNothing()
    {
        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => PushAsync("broken", "corrupt.onnx"));

        Assert.Contains("ONNX Runtime cannot load 'broken'", error.Message, StringComparison.Ordinal);
        Assert.Empty(await _registry.ListAsync());
        Assert.Empty(Directory.GetFiles(_content.Root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Push_NotAModelAtAll_IsRefused()
    {
        using var text = new MemoryStream("name,age\nalice,30\n"u8.ToArray());

        await Assert.ThrowsAsync<ModelRejectedException>(() => _registry.PushAsync("csv", text, "admin"));

        Assert.Empty(await _registry.ListAsync());
    }

    [Fact]
    public async Task Push_OverTheSizeLimit_IsRefusedBeforeLoading()
    {
        await using var stream = File.OpenRead(Sample("credit-risk.onnx"));

        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => _registry.PushAsync("risk", stream, "admin", maxBytes: 1000));

        Assert.Contains("larger than the limit of 1000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_content.Root, "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Credit")]
    [InlineData("-risk")]
    [InlineData("risk/../x")]
    public async Task Push_BadName_IsRefusedBeforeAnythingIsWritten(string name)
    {
        await using var stream = File.OpenRead(Sample("credit-risk.onnx"));

        await Assert.ThrowsAsync<ModelRejectedException>(() => _registry.PushAsync(name, stream, "admin"));

        Assert.False(Directory.Exists(_content.Root));
    }

    private async Task<ModelVersion> PushWithSamplesAsync(string name, string file, params string[] samples)
    {
        await using var stream = File.OpenRead(Sample(file));
        return await _registry.PushAsync(name, stream, "admin", samples);
    }

    [Fact]
    public async Task Push_WithValidSamples_StoresThemCompactWithTheVersion()
    {
        var request = await File.ReadAllTextAsync(Sample("credit-risk.request.json"));

        var pushed = await PushWithSamplesAsync("credit-risk", "credit-risk.onnx", CreditRiskSamples.Fitting(), request);

        Assert.Equal(2, pushed.Samples);
        Assert.Equal(2, (await _registry.GetAsync("credit-risk", 1))!.Samples);
        var samples = await _registry.ListSamplesAsync(pushed);
        Assert.Equal(["push", "push"], samples.Select(s => s.Source));
        Assert.Equal(CreditRiskSamples.Fitting(), samples[0].Body);

        // Stored compact: the request file's indentation is gone, its content kept.
        Assert.DoesNotContain("\n", samples[1].Body, StringComparison.Ordinal);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonDocument.Parse(request).RootElement), samples[1].Body);
        Assert.Equal(SampleRequest.Of(samples[1].Body, "push").Sha256, samples[1].Sha256);
    }

    public static TheoryData<string, string> BadSamples => new()
    {
        { CreditRiskSamples.Int64Features, "input 'features' has datatype INT64 but model 'credit-risk' expects FP32" },
        { """{"inputs":[{"name":"feature","datatype":"FP32","shape":[1,12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""", "unknown input 'feature' for model 'credit-risk'; it takes features" },
        { """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,11],"data":[1,2,3,4,5,6,7,8,9,10,11]}]}""", "input 'features' has shape [1,11]" },
        { """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],""", "malformed JSON" },
    };

    [Theory]
    [MemberData(nameof(BadSamples))]
    public async Task Push_SampleThatDoesNotFit_IsRefusedNamingSampleAndTensorAndLeavesNothing(string sample, string expected)
    {
        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => PushWithSamplesAsync("credit-risk", "credit-risk.onnx", CreditRiskSamples.Fitting(), sample));

        Assert.Contains("sample 2 does not fit model credit-risk", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Empty(await _registry.ListAsync());
        Assert.False(Directory.Exists(Path.Combine(_content.Root, "sha256")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_content.Root, "staging")));
    }

    [Fact]
    public async Task Push_MoreSamplesThanTheLimit_IsRefusedAndLeavesNothing()
    {
        var samples = Enumerable.Range(0, ModelRegistry.MaxSamples + 1).Select(CreditRiskSamples.Fitting).ToArray();

        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => PushWithSamplesAsync("credit-risk", "credit-risk.onnx", samples));

        Assert.Contains($"at most {ModelRegistry.MaxSamples} samples", error.Message, StringComparison.Ordinal);
        Assert.Empty(await _registry.ListAsync());
        Assert.Empty(Directory.GetFiles(_content.Root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task AddSamples_ToAnExistingVersion_AddsTheNewOnesAndSkipsTheOnesItHas()
    {
        var pushed = await PushWithSamplesAsync("credit-risk", "credit-risk.onnx", CreditRiskSamples.Fitting(30));

        Assert.Equal(2, await _registry.AddSamplesAsync(pushed, [CreditRiskSamples.Fitting(30), CreditRiskSamples.Fitting(31), CreditRiskSamples.Fitting(32), CreditRiskSamples.Fitting(31)], "api"));

        Assert.Equal([("push", CreditRiskSamples.Fitting(30)), ("api", CreditRiskSamples.Fitting(31)), ("api", CreditRiskSamples.Fitting(32))], (await _registry.ListSamplesAsync(pushed)).Select(s => (s.Source, s.Body)));
        Assert.Equal(3, (await _registry.GetAsync("credit-risk", 1))!.Samples);
    }

    [Theory]
    [MemberData(nameof(BadSamples))]
    public async Task AddSamples_OneThatDoesNotFit_IsRefusedAndAddsNone(string sample, string expected)
    {
        var pushed = await PushAsync("credit-risk", "credit-risk.onnx");

        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => _registry.AddSamplesAsync(pushed, [CreditRiskSamples.Fitting(), sample], "api"));

        Assert.Contains("sample 2 does not fit model credit-risk", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Empty(await _registry.ListSamplesAsync(pushed));
    }

    [Fact]
    public async Task AddSamples_AtTheLimit_SkipsOnesItHasAndRefusesNewOnes()
    {
        var pushed = await PushWithSamplesAsync("credit-risk", "credit-risk.onnx", [.. Enumerable.Range(0, ModelRegistry.MaxSamples).Select(CreditRiskSamples.Fitting)]);

        // Applying the same samples again adds nothing and is no error, even at the limit.
        Assert.Equal(0, await _registry.AddSamplesAsync(pushed, [CreditRiskSamples.Fitting(0), CreditRiskSamples.Fitting(1)], "spec"));

        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => _registry.AddSamplesAsync(pushed, [CreditRiskSamples.Fitting(0), CreditRiskSamples.Fitting(ModelRegistry.MaxSamples)], "spec"));
        Assert.Contains($"it has {ModelRegistry.MaxSamples} and 1 more were given", error.Message, StringComparison.Ordinal);
        Assert.Equal(ModelRegistry.MaxSamples, (await _registry.GetAsync("credit-risk", 1))!.Samples);
    }

    [Fact]
    public async Task List_SurvivesReopeningTheStore()
    {
        var pushed = await PushAsync("credit-risk", "credit-risk.onnx");

        var reopened = new ModelRegistry(await Stratus.ControlPlane.Store.Sqlite.SqliteDatabase.OpenAsync(_temp.Database.Path), _content, TimeProvider.System, Validator);

        var found = await reopened.GetAsync("credit-risk", 1);
        Assert.NotNull(found);
        Assert.Equal(pushed.Sha256, found.Sha256);
        Assert.Equal(pushed.Signature.Outputs.Select(o => o.Name), found.Signature.Outputs.Select(o => o.Name));
    }
}
