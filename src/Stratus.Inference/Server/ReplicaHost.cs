using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stratus.Inference.Batching;
using Stratus.Inference.Runtime;

namespace Stratus.Inference.Server;

/// <summary>
/// A running model server: Kestrel with the v2 endpoints, listening at once (live), loading the model in the
/// background and reporting ready when it has loaded and answered a warm-up run.
/// </summary>
public sealed partial class ReplicaHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ReplicaOptions _options;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<ServedModel> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _warm;

    private ReplicaHost(WebApplication app, ReplicaOptions options)
    {
        _app = app;
        _options = options;
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Stratus.Replica");
    }

    public ReplicaMetrics Metrics { get; private set; } = null!;

    /// <summary>The model once loaded; null while loading or after a failed load.</summary>
    public ServedModel? Model => _loaded.Task.IsCompletedSuccessfully ? _loaded.Task.Result : null;

    /// <summary>Loaded, and warmed up when <see cref="ReplicaOptions.ReadyAfterWarmUp"/> asks for it: what <c>/v2/health/ready</c> answers.</summary>
    public bool IsReady => Model is not null && (!_options.ReadyAfterWarmUp || _warm);

    /// <summary>The warm-up over HTTP is done: from now on the replica reports ready.</summary>
    public void WarmedUp() => _warm = true;

    /// <summary>Completes when the model is ready; faults with <see cref="ModelLoadException"/> if it cannot be served.</summary>
    public Task<ServedModel> ModelLoaded => _loaded.Task;

    /// <summary>The bound address, e.g. <c>http://127.0.0.1:41234</c>, once started.</summary>
    public Uri Address => new(_app.Urls.First());

    public static ReplicaHost Create(ReplicaOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        }
        else
        {
            configureLogging(builder.Logging);
        }

        builder.WebHost.UseKestrel(kestrel =>
        {
            // The infer endpoint enforces its own limit so an oversized body gets a v2 error, not Kestrel's bare 413.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });
        builder.WebHost.UseUrls($"http://{FormatHost(options.Host)}:{options.Port}");
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddRoutingCore();

        // Triton's and KServe's clients can gzip or deflate request bodies; the body limit applies to the decompressed size.
        builder.Services.AddRequestDecompression();

        var app = builder.Build();
        app.Use((context, next) =>
        {
            if (context.Request.Headers.ContentEncoding is { Count: > 0 } encoding)
            {
                context.Items[InferenceEndpoints.DecodedEncodingKey] = encoding.ToString();
            }

            return next(context);
        });
        app.UseRequestDecompression();
        if (options.EmulatedLatency > TimeSpan.Zero)
        {
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/v2", StringComparison.Ordinal))
                {
                    await Task.Delay(options.EmulatedLatency, context.RequestAborted);
                }

                await next(context);
            });
        }
        if (options.FaultFile is { } faultFile)
        {
            var faults = new EmulatedFaults(faultFile, options.ModelName, options.ModelVersion);
            app.Lifetime.ApplicationStopped.Register(faults.Dispose);
            app.Use(async (context, next) =>
            {
                if (HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Value?.EndsWith("/infer", StringComparison.Ordinal) == true && faults.Fails())
                {
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("{\"error\":\"emulated fault of this cloud: the replica failed the request\"}", context.RequestAborted);
                    return;
                }

                await next(context);
            });
        }

        var host = new ReplicaHost(app, options);
        host.Metrics = new ReplicaMetrics(options.ModelName, options.ModelVersion);
        InferenceEndpoints.Map(app, host, options);
        return host;
    }

    /// <summary>Starts listening and begins loading the model.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        _ = Task.Run(Load, CancellationToken.None);
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    private void Load()
    {
        OnnxModelHost? model = null;
        try
        {
            model = _options.ModelBytes is { } bytes
                ? OnnxModelHost.Load(bytes, Path.GetFileName(_options.ModelPath), _options.Session)
                : OnnxModelHost.Load(_options.ModelPath, _options.Session);

            // ONNX Runtime holds its own copy: the decrypted bytes are not kept.
            _options.ModelBytes = null;
            try
            {
                WarmUp.Run(model);
            }
            catch (Exception e)
            {
                // Zeros are not valid input for every model; a failed warm-up only means a slower first request.
                LogWarmUpFailed(_logger, _options.ModelName, e.Message);
            }

            var batcher = new DynamicBatcher(model, _options.Batching, Metrics, _app.Services.GetRequiredService<TimeProvider>(), _logger);
            var served = new ServedModel(_options.ModelName, _options.ModelVersion, model, batcher, Metrics);
            LogReady(_logger, _options.ModelName, _options.ModelVersion, batcher.IsBatching ? "on" : "off", batcher.Explanation);
            _loaded.TrySetResult(served);
        }
        catch (Exception e)
        {
            model?.Dispose();
            var error = e as ModelLoadException ?? new ModelLoadException(e.Message, e);
            LogLoadFailed(_logger, _options.ModelName, error.Message);
            _loaded.TrySetException(error);
        }
    }

    private static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_loaded.Task.IsCompletedSuccessfully)
        {
            _loaded.Task.Result.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Name} version {Version} is ready; dynamic batching {State}: {Reason}")]
    private static partial void LogReady(ILogger logger, string name, string version, string state, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm-up run of {Name} failed, serving anyway: {Reason}")]
    private static partial void LogWarmUpFailed(ILogger logger, string name, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Name} cannot be served: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, string name, string reason);
}
