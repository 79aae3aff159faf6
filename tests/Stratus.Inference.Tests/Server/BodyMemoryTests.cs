using Stratus.Inference.Tests.Support;

namespace Stratus.Inference.Tests.Server;

/// <summary>
/// Refused oversized bodies must leave a replica's memory where it was. Alone in its collection, run after the
/// parallel ones, because it measures the whole process's managed heap.
/// </summary>
[Collection(Name)]
public sealed class BodyMemoryTests : IAsyncLifetime
{
    public const string Name = "managed memory";
    private const int Limit = 32 * 1024 * 1024;
    private TestReplica _replica = null!;

    public async Task InitializeAsync() => _replica = await TestReplica.StartAsync(TestModels.CreditRisk, "credit-risk", o => o.MaxRequestBodyBytes = Limit);

    public async Task DisposeAsync() => await _replica.DisposeAsync();

    [Fact]
    public async Task Infer_ManyOversizedChunkedBodies_LeaveManagedMemoryFlat()
    {
        // A first round takes what may stay for good: a few pooled arrays of at most 1 MB per concurrent request
        // and Kestrel's own buffers, nothing that scales with the limit.
        await RefuseAsync(5);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        for (var round = 0; round < 5; round++)
        {
            await RefuseAsync(5);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);

        // Each refused body grew a buffer to the limit, and the shared pool used to keep them (1 GB after 30).
        Assert.True(after - before < Limit / 2, $"the managed heap grew by {(after - before) / (1024 * 1024)} MB over 25 more refused bodies of {Limit / (1024 * 1024)} MB");
    }

    /// <summary>Sends that many bodies past the limit at once, chunked (no Content-Length, so each is read until it passes).</summary>
    private async Task RefuseAsync(int concurrently)
    {
        var refusals = Enumerable.Range(0, concurrently).Select(async _ =>
        {
            using var content = new StreamContent(new ZeroStream(Limit + 1024 * 1024));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await _replica.Client.PostAsync("v2/models/credit-risk/infer", content);
            Assert.Contains("larger than the limit", await TestReplica.ReadErrorAsync(response, 413), StringComparison.Ordinal);
        });
        await Task.WhenAll(refusals);
    }

    /// <summary>That many spaces, made as they are read, so the client holds none of the body in memory.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _left = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, _left);
            buffer[..n].Fill((byte)' ');
            _left -= n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

[CollectionDefinition(BodyMemoryTests.Name, DisableParallelization = true)]
public sealed class BodyMemoryCollection;
