using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Tests.Support;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Registry;

/// <summary>Validation in a real child <c>stratus model inspect</c> process, against loading the same file here.</summary>
[Collection(MemoryMeasuredCollection.Name)]
public sealed class ChildProcessModelValidatorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("stratus-validate-").FullName;

    public void Dispose()
    {
        ChildProcesses.KillMatching(_folder);
        Directory.Delete(_folder, recursive: true);
    }

    private static ChildProcessModelValidator Validator(ModelValidationOptions? options = null) => new(TestReplicas.Executable, options ?? new());

    private string Write(byte[] model)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model);
        return path;
    }

    [Theory]
    [InlineData("credit-risk.onnx")]
    [InlineData("credit-risk-v2.onnx")]
    [InlineData("all-types.onnx")]
    [InlineData("multi-input.onnx")]
    [InlineData("mlp-large.onnx")]
    [InlineData("scale.onnx")]
    [InlineData("sequence.onnx")]
    [InlineData("state.onnx")]
    [InlineData("nondeterministic.onnx")]
    public async Task Validate_RepositoryModel_GivesTheSignatureLoadingItHereGives(string file)
    {
        var path = RepositoryFiles.Model(file);

        var child = await Validator().ValidateAsync(path);

        Assert.Equal(SignatureJson.Format(await InProcessModelValidator.Instance.ValidateAsync(path)), SignatureJson.Format(child));
    }

    [Fact]
    public async Task Validate_CorruptModel_RefusedWithTheRuntimesOwnReason()
    {
        var path = RepositoryFiles.Model("corrupt.onnx");

        var child = await Assert.ThrowsAsync<ModelRejectedException>(() => Validator().ValidateAsync(path));

        var here = await Assert.ThrowsAsync<ModelRejectedException>(() => InProcessModelValidator.Instance.ValidateAsync(path));
        Assert.StartsWith("ONNX Runtime cannot load", child.Message, StringComparison.Ordinal);
        Assert.Equal(here.Message, child.Message);
    }

    [Fact]
    public async Task Validate_ModelThatExpandsPastTheLimit_RefusedForMemoryWhileThisProcessStaysFlat()
    {
        var path = Write(HostileModels.Expanding());
        var options = new ModelValidationOptions { MemoryLimitMiB = 256 };
        PeakMemory.Reset();
        var before = PeakMemory.ResidentBytes();

        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => Validator(options).ValidateAsync(path));

        Assert.Equal($"model validation exceeded its memory limit of {options.MemoryLimitFor(new FileInfo(path).Length) / (1024 * 1024)} MiB", error.Message);
        Assert.InRange(PeakMemory.PeakBytes() - before, long.MinValue, HostileModels.ExpandedElements * sizeof(float) / 8);
    }

    [Fact]
    public async Task Validate_SlowerThanItsTimeLimit_KilledAndRefused()
    {
        var path = Write(File.ReadAllBytes(RepositoryFiles.Model("credit-risk.onnx")));

        // Starting the runtime alone takes longer than this.
        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => Validator(new ModelValidationOptions { Timeout = TimeSpan.FromMilliseconds(50) }).ValidateAsync(path));

        Assert.Equal("model validation did not finish within 0.05 s", error.Message);
        Assert.Empty(ChildProcesses.Matching(c => c.Contains(path, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Validate_MorePushesThanSlots_OneChildAtATime()
    {
        var paths = Enumerable.Range(0, 3).Select(_ => Write(File.ReadAllBytes(RepositoryFiles.Model("credit-risk.onnx")))).ToList();
        using var validator = Validator(new ModelValidationOptions { MaxConcurrent = 1 });
        var most = 0;
        var validations = Task.WhenAll(paths.Select(p => validator.ValidateAsync(p)));

        while (!validations.IsCompleted)
        {
            most = Math.Max(most, ChildProcesses.Matching(c => c.Contains(_folder, StringComparison.Ordinal)).Count);
            await Task.WhenAny(validations, Task.Delay(5));
        }

        Assert.All(await validations, s => Assert.Equal("features", s.Inputs[0].Name));
        Assert.Equal(1, most);
    }
}
