using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Core.Models;
using Stratus.Core.Crypto;
using Stratus.Inference.Batching;
using Stratus.Inference.Runtime;
using Stratus.Inference.Server;

namespace Stratus.Cli.Commands;

/// <summary>
/// <c>stratus replica</c>: serve one ONNX model over the Open Inference Protocol (v2); <c>stratus replica logs ID</c>:
/// what a replica the control plane runs wrote (a subcommand, so it needs none of the serving options).
/// </summary>
internal sealed class ReplicaCommand : Command
{
    private readonly IInteraction _interaction;

    public ReplicaCommand(IInteraction interaction, GlobalOptions global)
        : base("replica", "Serve one ONNX model over the Open Inference Protocol (v2) REST API; 'replica logs ID' shows what a running replica wrote.")
    {
        _interaction = interaction;
        Subcommands.Add(Logs(interaction, global));
        Options.Add(ModelOption);
        Options.Add(NameOption);
        Options.Add(VersionOption);
        Options.Add(HostOption);
        Options.Add(PortOption);
        Options.Add(MaxBodyBytesOption);
        Options.Add(BatchingOption);
        Options.Add(MaxBatchSizeOption);
        Options.Add(MaxQueueDelayMicrosecondsOption);
        Options.Add(InstancesOption);
        Options.Add(MaxQueueSizeOption);
        Options.Add(IntraOpThreadsOption);
        Options.Add(AllowSpinningOption);
        Options.Add(DemoOption);
        Options.Add(VerboseOption);
        Options.Add(ReadyFileOption);
        Options.Add(EmulatedLatencyOption);
        Options.Add(FaultFileOption);
        Options.Add(WarmUpFileOption);
        Options.Add(Sha256Option);
        Options.Add(ArtifactKeyFileOption);
        SetAction((parse, cancellationToken) => RunAsync(ToOptions(parse), parse.GetValue(DemoOption), parse.GetValue(VerboseOption), parse.GetValue(ReadyFileOption), parse.GetValue(WarmUpFileOption), parse.GetValue(Sha256Option), parse.GetValue(ArtifactKeyFileOption), cancellationToken));
    }

    private static Command Logs(IInteraction interaction, GlobalOptions global)
    {
        var id = new Argument<string>("id") { Description = "The replica's id (from 'deployment get')." };
        var lines = new Option<int>("--lines", "-n") { Description = "How many of its last lines, 1 to 10000.", DefaultValueFactory = _ => 100 };
        var command = new Command("logs", "The last lines a replica wrote (stdout and stderr), as its cloud keeps them: a local replica's output, a container's log.") { id, lines };
        command.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.GetReplicaLogsAsync(parse.GetValue(id)!, parse.GetValue(lines), cancellationToken), logs =>
            {
                foreach (var line in logs.Lines)
                {
                    interaction.Line(line);
                }
            });
            return ExitCodes.Success;
        }, cancellationToken));
        return command;
    }

    public Option<FileInfo> ModelOption { get; } = new("--model") { Description = "Path of the .onnx file to serve.", Required = true };

    public Option<string> NameOption { get; } = new("--name") { Description = "Model name in /v2/models/{name}.", Required = true };

    public Option<string> VersionOption { get; } = new("--version") { Description = "Model version.", DefaultValueFactory = _ => "1" };

    public Option<string> HostOption { get; } = new("--host") { Description = "Address to bind.", DefaultValueFactory = _ => "127.0.0.1" };

    public Option<int> PortOption { get; } = new("--port") { Description = "Port to bind; 0 picks a free one.", DefaultValueFactory = _ => 8000 };

    public Option<long> MaxBodyBytesOption { get; } = new("--max-body-bytes") { Description = "Largest request body accepted (413 beyond).", DefaultValueFactory = _ => 64L * 1024 * 1024 };

    public Option<BatchingMode> BatchingOption { get; } = new("--batching") { Description = "Dynamic batching: auto (on when the model allows it), on, off.", DefaultValueFactory = _ => BatchingMode.Auto };

    public Option<int> MaxBatchSizeOption { get; } = new("--max-batch-size") { Description = "Most rows merged into one run.", DefaultValueFactory = _ => 32 };

    public Option<int> MaxQueueDelayMicrosecondsOption { get; } = new("--max-queue-delay-us") { Description = "How long a batch may wait to fill, in microseconds.", DefaultValueFactory = _ => 0 };

    public Option<int> InstancesOption { get; } = new("--instances") { Description = "Model runs that may execute at once.", DefaultValueFactory = _ => 1 };

    public Option<int> MaxQueueSizeOption { get; } = new("--max-queue-size") { Description = "Requests that may wait before callers get 503.", DefaultValueFactory = _ => 4096 };

    public Option<int> IntraOpThreadsOption { get; } = new("--intra-op-threads") { Description = "ONNX Runtime threads per run; 0 = min(cores, 4)." };

    public Option<bool> AllowSpinningOption { get; } = new("--allow-spinning") { Description = "Let idle ONNX Runtime threads spin (faster, but burns CPU)." };

    public Option<bool> DemoOption { get; } = new("--demo") { Description = "Once ready, send an example request to the server and print the answer." };

    public Option<bool> VerboseOption { get; } = new("--verbose") { Description = "Log requests and server events." };

    public Option<FileInfo> ReadyFileOption { get; } = new("--ready-file") { Description = "Once ready, write {\"pid\",\"endpoint\"} to this file (how a provider learns where the replica listens)." };

    public Option<int> EmulatedLatencyOption { get; } = new("--emulated-latency-ms") { Description = "Delay every v2 request by this much, emulating a far-away cloud." };

    public Option<FileInfo> FaultFileOption { get; } = new("--fault-file") { Description = "A local cloud's emulated faults (JSON list of {deployment, version, errorRate}), re-read while running." };

    public Option<FileInfo> WarmUpFileOption { get; } = new("--warm-up-file") { Description = "A JSON list of v2 requests to warm the HTTP path with before --ready-file is written (default: zeros)." };

    public Option<string> Sha256Option { get; } = new("--sha256") { Description = "Refuse to serve the model unless its file has this SHA-256 (hex): how a container checks the artifact it was handed." };

    public Option<FileInfo> ArtifactKeyFileOption { get; } = new("--artifact-key-file")
    {
        Description = "The model file is encrypted (encryptArtifacts): decrypt it with the 32-byte key in this file, in memory only; --sha256 then checks the decrypted model.",
    };

    internal ReplicaOptions ToOptions(ParseResult parse) => new()
    {
        EmulatedLatency = TimeSpan.FromMilliseconds(parse.GetValue(EmulatedLatencyOption)),
        FaultFile = parse.GetValue(FaultFileOption)?.FullName,
        ModelPath = parse.GetValue(ModelOption)!.FullName,
        ModelName = parse.GetValue(NameOption)!,
        ModelVersion = parse.GetValue(VersionOption)!,
        Host = parse.GetValue(HostOption)!,
        Port = parse.GetValue(PortOption),
        MaxRequestBodyBytes = parse.GetValue(MaxBodyBytesOption),
        Batching = new BatchingOptions
        {
            Mode = parse.GetValue(BatchingOption),
            MaxBatchSize = parse.GetValue(MaxBatchSizeOption),
            MaxQueueDelay = TimeSpan.FromMicroseconds(parse.GetValue(MaxQueueDelayMicrosecondsOption)),
            Instances = parse.GetValue(InstancesOption),
            MaxQueueSize = parse.GetValue(MaxQueueSizeOption),
        },
        Session = new SessionSettings { IntraOpThreads = parse.GetValue(IntraOpThreadsOption), AllowSpinning = parse.GetValue(AllowSpinningOption) },
        ReadyAfterWarmUp = true,
    };

    private async Task<int> RunAsync(ReplicaOptions options, bool demo, bool verbose, FileInfo? readyFile, FileInfo? warmUpFile, string? sha256, FileInfo? artifactKeyFile, CancellationToken cancellationToken)
    {
        if (!File.Exists(options.ModelPath))
        {
            _interaction.Error($"model file '{options.ModelPath}' does not exist");
            return ExitCodes.InvalidArguments;
        }

        if (artifactKeyFile is not null)
        {
            try
            {
                var key = await File.ReadAllBytesAsync(artifactKeyFile.FullName, cancellationToken);
                await using var encrypted = File.OpenRead(options.ModelPath);
                options.ModelBytes = ArtifactEncryption.Decrypt(encrypted, key);
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                _interaction.Error($"cannot read the artifact key {artifactKeyFile.FullName}: {e.Message}");
                return ExitCodes.InvalidArguments;
            }
            catch (ArtifactDecryptionException e)
            {
                _interaction.Error($"model file '{options.ModelPath}' cannot be decrypted: {e.Message}; refusing to serve it");
                return ExitCodes.ArtifactMismatch;
            }
        }

        if (sha256 is not null)
        {
            await using var file = options.ModelBytes is { } plaintext ? new MemoryStream(plaintext, writable: false) : (Stream)File.OpenRead(options.ModelPath);
            var actual = Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(file, cancellationToken));
            if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
            {
                _interaction.Error($"model file '{options.ModelPath}' has SHA-256 {actual}, expected {sha256.ToLowerInvariant()}: refusing to serve it");
                return ExitCodes.ArtifactMismatch;
            }
        }

        if (options.Batching.MaxBatchSize < 1 || options.Batching.Instances < 1 || options.Batching.MaxQueueSize < 1 || options.Port is < 0 or > 65535)
        {
            _interaction.Error("--max-batch-size, --instances and --max-queue-size must be at least 1, and --port within 0..65535");
            return ExitCodes.InvalidArguments;
        }

        Action<ILoggingBuilder>? logging = verbose ? builder => builder.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information) : null;
        await using var host = ReplicaHost.Create(options, logging);
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            _interaction.Error($"cannot listen on {options.Host}:{options.Port}: {e.Message}");
            return ExitCodes.ListenFailed;
        }

        ServedModel model;
        try
        {
            model = await host.ModelLoaded.WaitAsync(cancellationToken);
        }
        catch (ModelLoadException e)
        {
            _interaction.Error(e.Message);
            return ExitCodes.ModelLoadFailed;
        }

        // Before anyone routes traffic here (a provider, a gateway probing /v2/health/ready, a container orchestrator's
        // readiness probe), warm the HTTP path too (JIT, connections, first runs), so a new replica's first callers,
        // and a canary's latency, do not pay for a cold process. Until then the replica answers 503 on ready.
        await WarmOverHttpAsync(model, host.Address, WarmUpRequests(warmUpFile), cancellationToken);
        host.WarmedUp();
        PrintBanner(options, model, host.Address);
        if (readyFile is not null)
        {
            // Written whole then renamed, so a reader never sees half a file.
            var json = $"{{\"pid\":{Environment.ProcessId},\"endpoint\":\"{host.Address}\"}}";
            var temporary = readyFile.FullName + ".tmp";
            await File.WriteAllTextAsync(temporary, json, cancellationToken);
            File.Move(temporary, readyFile.FullName, overwrite: true);
        }

        if (demo)
        {
            await RunDemoAsync(options, model, host.Address, cancellationToken);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _interaction.Line("stopping");
        }

        return ExitCodes.Success;
    }

    /// <summary>The model's own sample requests when the provider passed them (zeros do not suit every model), else none.</summary>
    private static IReadOnlyList<string> WarmUpRequests(FileInfo? file)
    {
        if (file is not { Exists: true })
        {
            return [];
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file.FullName));
            return [.. document.RootElement.EnumerateArray().Select(e => e.GetRawText())];
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or IOException)
        {
            return [];
        }
    }

    private static async Task WarmOverHttpAsync(ServedModel model, Uri address, IReadOnlyList<string> samples, CancellationToken cancellationToken)
    {
        const int Requests = 16;
        IReadOnlyList<string> bodies = samples.Count > 0 ? samples : [Stratus.Inference.Runtime.WarmUp.JsonRequest(model.Signature)];
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(5);
        for (var i = 0; i < Requests && DateTime.UtcNow < deadline; i++)
        {
            try
            {
                using var response = await client.PostAsync($"v2/models/{model.Name}/infer", new StringContent(bodies[i % bodies.Count], Encoding.UTF8, "application/json"), cancellationToken);
            }
            catch (HttpRequestException)
            {
                // Warm-up is best effort; the replica is ready either way.
                return;
            }
        }
    }

    private void PrintBanner(ReplicaOptions options, ServedModel model, Uri address)
    {
        static string Specs(IEnumerable<TensorSpec> specs) => string.Join("; ", specs.Select(s => $"{s.Name} {s.DataType.ToWireName()} {s.FormatShape()}"));
        var batching = model.Batcher.IsBatching
            ? $"on: up to {options.Batching.MaxBatchSize} rows, max delay {options.Batching.MaxQueueDelay.TotalMilliseconds} ms, {options.Batching.Instances} instance(s)"
            : "off";
        _interaction.Line("Stratus replica");
        _interaction.Field("model", $"{model.Name} version {model.Version} ({options.ModelPath})");
        _interaction.Field("inputs", Specs(model.Signature.Inputs));
        _interaction.Field("outputs", Specs(model.Signature.Outputs));
        _interaction.Field("batching", $"{batching} ({model.Batcher.Explanation})");
        _interaction.Field("infer", $"POST {address}v2/models/{model.Name}/infer");
        _interaction.Field("metrics", $"{address}metrics");
        _interaction.Line($"ready at {address}");
    }

    /// <summary>Sends the example request shipped beside the model (NAME.request.json) through real HTTP and prints the answer.</summary>
    private async Task RunDemoAsync(ReplicaOptions options, ServedModel model, Uri address, CancellationToken cancellationToken)
    {
        var examplePath = Path.ChangeExtension(options.ModelPath, ".request.json");
        if (!File.Exists(examplePath))
        {
            _interaction.Line($"demo: no example request at {examplePath}");
            return;
        }

        var url = new Uri(address, $"v2/models/{model.Name}/infer");
        var body = await File.ReadAllTextAsync(examplePath, cancellationToken);
        using var client = new HttpClient();
        using var content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var response = await client.PostAsync(url, content, cancellationToken);
        var answer = await response.Content.ReadAsStringAsync(cancellationToken);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        _interaction.Line();
        _interaction.Line($"demo: POST {url} with {Path.GetFileName(examplePath)}");
        _interaction.Line($"demo: {(int)response.StatusCode} in {elapsed.TotalMilliseconds:F1} ms: {answer}");
        _interaction.Line($"try it yourself: curl -s -d @{Path.GetRelativePath(Environment.CurrentDirectory, examplePath)} {url}");
        _interaction.Line("press Ctrl+C to stop");
    }
}
