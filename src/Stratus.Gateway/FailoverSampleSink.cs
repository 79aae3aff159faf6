using Stratus.Core.Routing;

namespace Stratus.Gateway;

/// <summary>
/// Hands recorded requests to the first of several sinks (control-plane servers) that takes them: it stays with the
/// one that last took a request and moves on to the next when one fails. Every server keeps samples in the store
/// they share, so any of them will do. Fails only when every sink has.
/// </summary>
public sealed class FailoverSampleSink : IRequestSampleSink
{
    private readonly IReadOnlyList<IRequestSampleSink> _sinks;
    private int _current;

    public FailoverSampleSink(IReadOnlyList<IRequestSampleSink> sinks)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sinks.Count);
        _sinks = sinks;
    }

    public async ValueTask RecordAsync(string deployment, int version, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        var first = Volatile.Read(ref _current);
        for (var tried = 0; tried < _sinks.Count; tried++)
        {
            var index = (first + tried) % _sinks.Count;
            try
            {
                await _sinks[index].RecordAsync(deployment, version, request, cancellationToken);
                Volatile.Write(ref _current, index);
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failure = e;
            }
        }

        throw failure!;
    }
}
