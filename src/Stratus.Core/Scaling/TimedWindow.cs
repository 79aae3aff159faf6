namespace Stratus.Core.Scaling;

/// <summary>The last <c>capacity</c> timestamped entries, oldest first; thread-safe.</summary>
internal sealed class TimedWindow<T>(int capacity)
{
    private readonly (DateTimeOffset At, T Entry)[] _entries = new (DateTimeOffset, T)[capacity];
    private int _next;
    private int _count;

    public void Add(DateTimeOffset at, T entry)
    {
        lock (_entries)
        {
            _entries[_next] = (at, entry);
            _next = (_next + 1) % _entries.Length;
            _count = Math.Min(_count + 1, _entries.Length);
        }
    }

    /// <summary>The entries at or after a moment, in the order they were added.</summary>
    public List<T> Since(DateTimeOffset since)
    {
        var recent = new List<T>();
        lock (_entries)
        {
            var oldest = (_next - _count + _entries.Length) % _entries.Length;
            for (var i = 0; i < _count; i++)
            {
                var (at, entry) = _entries[(oldest + i) % _entries.Length];
                if (at >= since)
                {
                    recent.Add(entry);
                }
            }
        }

        return recent;
    }
}
