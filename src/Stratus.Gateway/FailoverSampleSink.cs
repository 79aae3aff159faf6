using Stratus.Core.Routing;

namespace Stratus.Gateway;

/// <summary>
/// Hands recorded requests to the first of several sinks (control-plane servers) that takes them
/// (<see cref="ServerFailover{T}"/>). Every server keeps samples in the store they share, so any of them will do.
/// </summary>
public sealed class FailoverSampleSink(IReadOnlyList<IRequestSampleSink> sinks) : IRequestSampleSink
{
    private readonly ServerFailover<IRequestSampleSink> _sinks = new(sinks);

    public async ValueTask RecordAsync(string deployment, int version, ReadOnlyMemory<byte> request, CancellationToken cancellationToken) =>
        await _sinks.CallAsync(
            async (sink, _) =>
            {
                await sink.RecordAsync(deployment, version, request, cancellationToken);
                return true;
            },
            cancellationToken);
}
