using System.Diagnostics;
using System.Globalization;
using System.Text;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Models;

namespace Stratus.ControlPlane.Registry;

/// <summary>How much memory and time validating one pushed model may take.</summary>
public sealed class ModelValidationOptions
{
    /// <summary>
    /// The child's memory limit before its allowance for the model itself (twice the file's size, since ONNX Runtime
    /// holds the parsed file and its weights while it loads): enough for the runtime and any reasonable graph.
    /// </summary>
    public int MemoryLimitMiB { get; set; } = 1024;

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Validations run at once; more pushes wait their turn, so together they take at most this many memory limits.</summary>
    public int MaxConcurrent { get; set; } = 2;

    /// <summary>The memory limit for a model file of <paramref name="size"/> bytes, in bytes.</summary>
    public long MemoryLimitFor(long size) => (MemoryLimitMiB * 1024L * 1024L) + (2 * size);
}

/// <summary>
/// Validates a pushed model in a child <c>stratus model inspect --json FILE</c> process with a memory limit (it sets
/// RLIMIT_DATA on itself before loading) and a time limit (killed when it is over), so a small hostile file whose
/// graph expands to gigabytes while ONNX Runtime loads it costs the child, not the control plane. The signature comes
/// back as the child's JSON output.
/// </summary>
public sealed class ChildProcessModelValidator(ReplicaExecutable executable, ModelValidationOptions options) : IModelValidator, IDisposable
{
    /// <summary>The most of the child's output kept: a signature is small; anything beyond is not ours.</summary>
    private const int MaxOutputChars = 4 * 1024 * 1024;

    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.MaxConcurrent));

    public async Task<ModelSignature> ValidateAsync(string path, CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await ValidateAloneAsync(path, cancellationToken);
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();

    private async Task<ModelSignature> ValidateAloneAsync(string path, CancellationToken cancellationToken)
    {
        var limit = options.MemoryLimitFor(new FileInfo(path).Length);
        var limitMiB = limit / (1024 * 1024);
        var info = new ProcessStartInfo(executable.FileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[.. executable.PrefixArguments, "model", "inspect", "--json", path, "--memory-limit-bytes", limit.ToString(CultureInfo.InvariantCulture)])
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable.FileName} to validate a model");
        process.StandardInput.Close();
        var output = ReadBoundedAsync(process.StandardOutput);
        var error = ReadBoundedAsync(process.StandardError);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            await Task.WhenAll(output, error);
            cancellationToken.ThrowIfCancellationRequested();
            throw new ModelRejectedException($"model validation did not finish within {options.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }

        var (signature, failure) = ModelInspection.Read(await output);
        var stderr = await error;

        // A model whose constants would not fit loads anyway (ONNX Runtime skips folding them, with a warning), and
        // would take that memory on its first request in a replica instead.
        if (failure is { OutOfMemory: true } || ModelInspection.IsAllocationFailure(stderr) || stderr.Contains("OutOfMemory", StringComparison.Ordinal))
        {
            throw new ModelRejectedException($"model validation exceeded its memory limit of {limitMiB} MiB");
        }

        if (process.ExitCode == 0 && signature is not null)
        {
            return signature;
        }

        if (failure is not null && process.ExitCode == ModelInspection.Refused)
        {
            throw new ModelRejectedException(failure.Error);
        }

        throw new ModelRejectedException($"model validation failed: the validating process exited with code {process.ExitCode}{(stderr.Length > 0 ? ": " + Tail(stderr) : string.Empty)}");
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader)
    {
        var text = new StringBuilder();
        var buffer = new char[8192];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            // Keep draining past the bound, so the child never blocks on a full pipe.
            if (text.Length < MaxOutputChars)
            {
                text.Append(buffer, 0, Math.Min(read, MaxOutputChars - text.Length));
            }
        }

        return text.ToString();
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.TakeLast(3));
    }
}
