using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stratus.Core.Models;
using Stratus.Inference.Protocol;

namespace Stratus.Inference.Server;

/// <summary>The Open Inference Protocol (v2) REST endpoints of a replica, plus <c>/metrics</c>.</summary>
internal static partial class InferenceEndpoints
{
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";
    private const string ServerVersion = "0.1.0";

    /// <summary>Where the replica notes the Content-Encoding the request decompression is about to decode (it removes the header).</summary>
    internal const string DecodedEncodingKey = "Stratus.DecodedEncoding";

    private const int InitialBodyBuffer = 64 * 1024;

    public static void Map(IEndpointRouteBuilder app, ReplicaHost host, ReplicaOptions options)
    {
        app.MapGet("/v2/health/live", context => WriteJson(context, 200, json => json.WriteBoolean("live", true)));
        app.MapGet("/v2/health/ready", context =>
        {
            var ready = host.IsReady;
            return WriteJson(context, ready ? 200 : 503, json => json.WriteBoolean("ready", ready));
        });
        app.MapGet("/v2", context => WriteJson(context, 200, json =>
        {
            json.WriteString("name", "stratus");
            json.WriteString("version", ServerVersion);
            json.WriteStartArray("extensions");
            json.WriteStringValue("binary_tensor_data");
            json.WriteEndArray();
        }));

        foreach (var prefix in new[] { "/v2/models/{name}", "/v2/models/{name}/versions/{version}" })
        {
            app.MapGet(prefix, context => Guard(context, host, options, model => WriteMetadata(context, model)));
            app.MapGet(prefix + "/ready", context => Guard(context, host, options, model =>
                WriteJson(context, 200, json =>
                {
                    json.WriteString("name", model.Name);
                    json.WriteBoolean("ready", true);
                })));
            app.MapPost(prefix + "/infer", context => Infer(context, host, options));
        }

        app.MapGet("/metrics", async context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await host.Metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
        app.MapFallback(context => WriteError(context, 404, $"no such endpoint: {context.Request.Method} {context.Request.Path}"));
    }

    private static async Task Guard(HttpContext context, ReplicaHost host, ReplicaOptions options, Func<ServedModel, Task> action)
    {
        try
        {
            await action(Resolve(context, host, options));
        }
        catch (InferenceException e)
        {
            await WriteError(context, e.StatusCode, e.Message);
        }
    }

    private static ServedModel Resolve(HttpContext context, ReplicaHost host, ReplicaOptions options)
    {
        var name = context.Request.RouteValues["name"] as string;
        if (name != options.ModelName)
        {
            throw InferenceException.NotFound($"unknown model '{name}'; this server serves '{options.ModelName}'");
        }

        if (context.Request.RouteValues["version"] is string version && version != options.ModelVersion)
        {
            throw InferenceException.NotFound($"unknown version '{version}' of model '{name}'; this server serves version {options.ModelVersion}");
        }

        if (host.Model is { } model)
        {
            return model;
        }

        throw host.ModelLoaded.IsFaulted
            ? InferenceException.Unavailable($"model '{name}' failed to load: {host.ModelLoaded.Exception!.InnerException!.Message}")
            : InferenceException.Unavailable($"model '{name}' is loading");
    }

    private static async Task Infer(HttpContext context, ReplicaHost host, ReplicaOptions options)
    {
        ServedModel model;
        try
        {
            model = Resolve(context, host, options);
        }
        catch (InferenceException e)
        {
            await WriteError(context, e.StatusCode, e.Message);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var success = false;
        model.Metrics.RequestStarted();
        using var request = new InferenceRequest();
        try
        {
            CheckEncoding(context.Request);
            var (body, length) = await ReadBodyAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted);
            request.Adopt(body);
            InferenceRequestDecoder.Decode(body.AsMemory(0, length), HeaderLength(context.Request), request);
            model.CheckRequestedOutputs(request);
            var inputs = model.PrepareInputs(request);
            using var result = await model.Batcher.SubmitAsync(inputs, context.RequestAborted);
            await WriteResult(context, model, request, result);
            success = true;
        }
        catch (InferenceException e)
        {
            await WriteError(context, e.StatusCode, e.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; there is no one to answer.
        }
        catch (BadHttpRequestException e)
        {
            await WriteError(context, e.StatusCode, $"bad request body: {e.Message}");
        }
        catch (ObjectDisposedException)
        {
            await WriteError(context, 503, "the replica is shutting down");
        }
        catch (Exception e)
        {
            // A defect of ours: still answer in the protocol's shape, and leave the details in the log.
            LogInferFailed(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Stratus.Replica"), e, model.Name);
            await WriteError(context, 500, $"internal error: {e.Message}");
        }
        finally
        {
            model.Metrics.RequestFinished(success, Stopwatch.GetElapsedTime(started));
        }
    }

    private static async Task WriteResult(HttpContext context, ServedModel model, InferenceRequest request, InferenceResult result)
    {
        using var buffer = new PooledBufferWriter(16 * 1024);
        var headerLength = InferenceResponseEncoder.Encode(buffer, model.Name, model.Version, request.Id, model.SelectOutputs(request, result));
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentLength = buffer.WrittenCount;
        if (headerLength is { } length)
        {
            response.ContentType = "application/octet-stream";
            response.Headers[HeaderLengthHeader] = length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            response.ContentType = "application/json";
        }

        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static int? HeaderLength(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(HeaderLengthHeader, out var values))
        {
            return null;
        }

        return int.TryParse(values.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
            ? length
            : throw InferenceException.BadRequest($"{HeaderLengthHeader} must be a non-negative integer, not '{values}'");
    }

    /// <summary>
    /// Reads the whole body, refusing with 413 as soon as it passes the limit. The buffer grows as bytes arrive
    /// (from <see cref="InitialBodyBuffer"/>, doubling), so a client that only declares or threatens a large body
    /// costs what it sent, and large buffers are plain arrays the GC takes back (<see cref="BoundedArrayPool"/>).
    /// </summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw TooLarge(request.ContentLength.Value, limit);
        }

        // One byte more than can arrive, so the read that passes the limit (or finds the end) needs no growth. A
        // decoded body's Content-Length (if any is left) counts the encoded bytes, so only the limit bounds it.
        var declared = request.HttpContext.Items.ContainsKey(DecodedEncodingKey) ? null : request.ContentLength;
        var most = (int)Math.Min(declared ?? limit, limit) + 1;
        var buffer = BoundedArrayPool.Rent(Math.Min(most, InitialBodyBuffer));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = BoundedArrayPool.Rent((int)Math.Min((long)buffer.Length * 2, most));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    BoundedArrayPool.Return(buffer);
                    buffer = larger;
                }

                var read = await ReadDecodedAsync(request, buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > limit)
                {
                    throw TooLarge(length, limit);
                }
            }

            if (length == 0)
            {
                throw InferenceException.BadRequest("the request body is empty");
            }

            return (buffer, length);
        }
        catch
        {
            BoundedArrayPool.Return(buffer);
            throw;
        }
    }

    /// <summary>Reads the body through the request decompression, whose streams fail on bytes that are not of their encoding.</summary>
    private static async ValueTask<int> ReadDecodedAsync(HttpRequest request, Memory<byte> into, CancellationToken cancellationToken)
    {
        try
        {
            return await request.Body.ReadAsync(into, cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException && request.HttpContext.Items[DecodedEncodingKey] is string encoding)
        {
            throw InferenceException.BadRequest($"the request body is not valid {encoding} data ({e.Message})");
        }
    }

    /// <summary>A Content-Encoding the request decompression left in place is one it does not decode: refuse it, never read it as identity.</summary>
    private static void CheckEncoding(HttpRequest request)
    {
        var encoding = request.Headers.ContentEncoding.ToString();
        if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            throw new InferenceException(415, $"Content-Encoding '{encoding}' is not supported; send one of gzip, deflate, br or identity");
        }
    }

    private static InferenceException TooLarge(long size, long limit) =>
        new(413, $"the request body is larger than the limit of {limit} bytes (got {(size > limit ? "more than " + limit : size)} bytes)");

    private static Task WriteMetadata(HttpContext context, ServedModel model) => WriteJson(context, 200, json =>
    {
        json.WriteString("name", model.Name);
        json.WriteStartArray("versions");
        json.WriteStringValue(model.Version);
        json.WriteEndArray();
        json.WriteString("platform", "onnxruntime_onnx");
        WriteSpecs(json, "inputs", model.Signature.Inputs);
        WriteSpecs(json, "outputs", model.Signature.Outputs);
    });

    private static void WriteSpecs(Utf8JsonWriter json, string property, IReadOnlyList<TensorSpec> specs)
    {
        json.WriteStartArray(property);
        foreach (var spec in specs)
        {
            json.WriteStartObject();
            json.WriteString("name", spec.Name);
            json.WriteString("datatype", spec.DataType.ToWireName());
            json.WriteStartArray("shape");
            foreach (var dim in spec.Shape)
            {
                json.WriteNumberValue(dim);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static async Task WriteJson(HttpContext context, int status, Action<Utf8JsonWriter> writeProperties)
    {
        using var buffer = new PooledBufferWriter(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            writeProperties(json);
            json.WriteEndObject();
        }

        await WriteBuffer(context, status, buffer);
    }

    internal static async Task WriteError(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        using var buffer = new PooledBufferWriter(512);
        InferenceResponseEncoder.EncodeError(buffer, message);
        await WriteBuffer(context, status, buffer);
    }

    private static async Task WriteBuffer(HttpContext context, int status, PooledBufferWriter buffer)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference request for {Model} failed")]
    private static partial void LogInferFailed(ILogger logger, Exception exception, string model);
}
