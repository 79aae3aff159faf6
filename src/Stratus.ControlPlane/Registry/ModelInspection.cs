using System.Runtime.InteropServices;
using System.Text.Json;
using Stratus.Core.Models;
using Stratus.Inference.Runtime;

namespace Stratus.ControlPlane.Registry;

/// <summary>
/// What <c>stratus model inspect --json FILE</c> does in the child process that <see cref="ChildProcessModelValidator"/>
/// starts: it caps its own memory, loads the model, and writes one JSON object to its output, <c>{"signature": …}</c>
/// (the registry's stored form of it) or <c>{"error": "…", "outOfMemory": false}</c>. ONNX Runtime's warnings go to
/// its standard error, where an allocation that failed while folding constants shows (<see cref="IsAllocationFailure"/>).
/// </summary>
public static partial class ModelInspection
{
    public const int Refused = 3;

    /// <summary>Linux's RLIMIT_DATA: private writable memory (heap, anonymous mappings), what ONNX Runtime allocates tensors in.</summary>
    private const int RlimitData = 2;

    public static int Run(string path, long? memoryLimitBytes, TextWriter output)
    {
        if (memoryLimitBytes is { } limit)
        {
            LimitMemory(limit);
        }

        ModelSignature signature;
        try
        {
            signature = InProcessModelValidator.Inspect(path, logWarnings: true);
        }
        catch (ModelLoadException e)
        {
            output.Write(JsonSerializer.Serialize(new Failure(e.Message, IsAllocationFailure(e.Message))));
            return Refused;
        }
        catch (OutOfMemoryException e)
        {
            output.Write(JsonSerializer.Serialize(new Failure(e.Message, true)));
            return Refused;
        }

        output.Write($"{{\"signature\":{SignatureJson.Format(signature)}}}");
        return 0;
    }

    /// <summary>Reads what <see cref="Run"/> wrote: the signature, or the failure; null when it is not such an object.</summary>
    internal static (ModelSignature? Signature, Failure? Failure) Read(string output)
    {
        try
        {
            using var document = JsonDocument.Parse(output);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            if (document.RootElement.TryGetProperty("signature", out var signature))
            {
                return (SignatureJson.Parse(signature.GetRawText()), null);
            }

            return (null, document.RootElement.Deserialize<Failure>());
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            return (null, null);
        }
    }

    /// <summary>ONNX Runtime reports a failed allocation as the C++ exception it caught, or as its allocator's own message.</summary>
    internal static bool IsAllocationFailure(string message) =>
        message.Contains("bad_alloc", StringComparison.Ordinal) || message.Contains("bad allocation", StringComparison.Ordinal) ||
        message.Contains("Failed to allocate memory", StringComparison.Ordinal);

    private static void LimitMemory(long bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var limit = new ResourceLimit { Current = (ulong)bytes, Maximum = (ulong)bytes };
        if (SetResourceLimit(RlimitData, in limit) != 0)
        {
            throw new InvalidOperationException($"setrlimit(RLIMIT_DATA) failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }

    internal sealed record Failure(
        [property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error,
        [property: System.Text.Json.Serialization.JsonPropertyName("outOfMemory")] bool OutOfMemory);

    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetResourceLimit(int resource, in ResourceLimit limit);
}
