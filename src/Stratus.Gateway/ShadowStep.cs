using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Stratus.Core.Rollouts;
using Stratus.Core.Routing;
using Yarp.ReverseProxy.Model;

namespace Stratus.Gateway;

/// <summary>
/// Shadow traffic: for a deployment whose route names a shadow version, a share of requests is copied to one of that
/// version's replicas once the caller's answer has been written. The shadow's answer never reaches the caller and is
/// never waited for; it is compared with the answer the caller got (errors, and per output the largest absolute and
/// relative difference and the arg-max agreement of classifier rows) and the comparison recorded for the rollout's
/// analysis. Mirrors beyond <see cref="GatewayOptions.MaxShadowsInFlight"/>, or of bodies beyond
/// <see cref="GatewayOptions.MaxShadowBodyBytes"/>, are skipped and counted, so shadows cannot pile up.
/// </summary>
public sealed class ShadowStep(GatewayOptions options, GatewayMetrics metrics, LoadRecorder load) : IDisposable
{
    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) }, disposeHandler: true);
    private int _inFlight;

    /// <summary>A deployment's route in the current table (set by the host).</summary>
    public Func<string, Route?>? Routes { get; set; }

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var proxy = context.Features.Get<IReverseProxyFeature>()!;
        var deployment = proxy.Cluster.Config.ClusterId;
        if (Routes?.Invoke(deployment)?.Shadow is not { } shadow || !HttpMethods.IsPost(context.Request.Method) ||
            (context.Request.Path.Value?.Contains("/versions/", StringComparison.Ordinal) ?? false) || Random.Shared.Next(100) >= shadow.Percent)
        {
            await next();
            return;
        }

        // The caller's answer passes through unchanged while a copy of it is kept for the comparison.
        context.Request.EnableBuffering();
        var body = context.Features.Get<IHttpResponseBodyFeature>()!;
        var copy = new CopyingStream(body.Stream, options.MaxShadowBodyBytes);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(copy, body));
        try
        {
            await next();
        }
        finally
        {
            context.Features.Set(body);
        }

        var version = shadow.Version.ToString(CultureInfo.InvariantCulture);
        var target = proxy.Route.Cluster?.DestinationsState.AvailableDestinations.Where(d => RetryStep.VersionOf(d) == version).ToList() ?? [];
        var request = copy.Overflowed || target.Count == 0 ? null : await BufferedRequest.CopyAsync(context.Request, options.MaxShadowBodyBytes, context.RequestAborted);
        if (request is null || Interlocked.Increment(ref _inFlight) > options.MaxShadowsInFlight)
        {
            if (request is not null)
            {
                Interlocked.Decrement(ref _inFlight);
            }

            load.ShadowSkipped(deployment, shadow.Version);
            metrics.Shadow(deployment, version, "skipped");
            return;
        }

        var stable = new Answer(context.Response.StatusCode, copy.ToArray(), BufferedRequest.HeaderLength(context.Response.Headers));
        var mirror = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(target[Random.Shared.Next(target.Count)].Model.Config.Address), context.Request.Path + context.Request.QueryString))
        {
            Content = new ByteArrayContent(request),
        };
        mirror.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType ?? "application/json");
        if (BufferedRequest.HeaderLength(context.Request.Headers) is { } length)
        {
            mirror.Content.Headers.TryAddWithoutValidation(BufferedRequest.HeaderLengthName, length.ToString(CultureInfo.InvariantCulture));
        }

        _ = Task.Run(() => MirrorAsync(deployment, shadow, mirror, stable));
    }

    private async Task MirrorAsync(string deployment, ShadowRoute shadow, HttpRequestMessage mirror, Answer stable)
    {
        var version = shadow.Version.ToString(CultureInfo.InvariantCulture);
        ShadowSample sample;
        try
        {
            using var timeout = new CancellationTokenSource(options.RequestTimeout);
            using var response = await _client.SendAsync(mirror, timeout.Token);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            var headerLength = response.Headers.TryGetValues(BufferedRequest.HeaderLengthName, out var values) || response.Content.Headers.TryGetValues(BufferedRequest.HeaderLengthName, out values)
                ? int.Parse(values.First(), CultureInfo.InvariantCulture)
                : (int?)null;
            sample = Compare(shadow, stable, new Answer((int)response.StatusCode, body, headerLength));
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or FormatException)
        {
            sample = new ShadowSample(IsOk(stable.Status), ShadowOk: false, Comparison: null);
        }
        finally
        {
            mirror.Dispose();
            Interlocked.Decrement(ref _inFlight);
        }

        load.Shadow(deployment, shadow.Version, sample);
        metrics.Shadow(deployment, version, !sample.ShadowOk ? "shadow_failed" : sample.Comparison is null ? "stable_failed" : sample.Comparison.Diverges ? "diverged" : "matched");
    }

    private static ShadowSample Compare(ShadowRoute shadow, Answer stable, Answer candidate)
    {
        if (!IsOk(stable.Status) || !IsOk(candidate.Status))
        {
            return new ShadowSample(IsOk(stable.Status), IsOk(candidate.Status), null);
        }

        IReadOnlyList<OutputTensor> expected;
        try
        {
            expected = InferenceResponseReader.Read(stable.Body, stable.HeaderLength);
        }
        catch (FormatException)
        {
            // Nothing to compare with; the shadow answered, which is all that can be said.
            return new ShadowSample(StableOk: false, ShadowOk: true, null);
        }

        IReadOnlyList<OutputTensor> actual;
        try
        {
            actual = InferenceResponseReader.Read(candidate.Body, candidate.HeaderLength);
        }
        catch (FormatException)
        {
            return new ShadowSample(StableOk: true, ShadowOk: false, null);
        }

        return new ShadowSample(true, true, ResponseComparer.Compare(expected, actual, shadow.AbsoluteTolerance, shadow.RelativeTolerance));
    }

    private static bool IsOk(int status) => status is >= 200 and < 300;

    public void Dispose() => _client.Dispose();

    private sealed record Answer(int Status, byte[] Body, int? HeaderLength);

    /// <summary>Passes writes through to the caller's body and keeps a copy of up to a limit.</summary>
    private sealed class CopyingStream(Stream inner, long limit) : Stream
    {
        private readonly MemoryStream _copy = new();

        public bool Overflowed { get; private set; }

        public byte[] ToArray() => _copy.ToArray();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private void Keep(ReadOnlySpan<byte> data)
        {
            if (Overflowed || _copy.Length + data.Length > limit)
            {
                Overflowed = true;
                return;
            }

            _copy.Write(data);
        }
    }
}
