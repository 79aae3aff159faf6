using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Stratus.Inference.Server;

namespace Stratus.Gateway.Tests;

/// <summary>
/// A real replica behind a gate the test opens: inference requests wait at the gate until <see cref="Release"/>, then
/// pass to the replica, whose answers come back unchanged; anything else (probes, metadata) passes at once. It shows
/// what happens while a replica has not answered yet, without depending on how long anything takes.
/// </summary>
internal sealed class HeldReplica : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _client = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _held;

    private HeldReplica(WebApplication app, ReplicaHost replica)
    {
        _app = app;
        app.Run(context => ForwardAsync(context, replica));
    }

    public Uri Address => new(_app.Urls.First());

    /// <summary>Inference requests that reached the gate so far.</summary>
    public int Held => Volatile.Read(ref _held);

    public static async Task<HeldReplica> StartAsync(ReplicaHost replica)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var held = new HeldReplica(builder.Build(), replica);
        await held._app.StartAsync();
        return held;
    }

    /// <summary>Opens the gate: the requests waiting there, and all later ones, go on to the replica.</summary>
    public void Release() => _released.TrySetResult();

    private async Task ForwardAsync(HttpContext context, ReplicaHost replica)
    {
        var infer = context.Request.Path.Value?.EndsWith("/infer", StringComparison.Ordinal) ?? false;
        if (infer)
        {
            Interlocked.Increment(ref _held);
            await _released.Task.WaitAsync(context.RequestAborted);
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(replica.Address, context.Request.Path + context.Request.QueryString));
        if (infer)
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            request.Content = new ByteArrayContent(body.ToArray());
            request.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType);
        }

        using var response = await _client.SendAsync(request, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
        if (response.Headers.TryGetValues(BufferedRequest.HeaderLengthName, out var length))
        {
            context.Response.Headers[BufferedRequest.HeaderLengthName] = length.First();
        }

        await context.Response.Body.WriteAsync(await response.Content.ReadAsByteArrayAsync(context.RequestAborted), context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _client.Dispose();
    }
}
