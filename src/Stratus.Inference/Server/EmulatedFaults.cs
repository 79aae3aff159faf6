using System.Text.Json;

namespace Stratus.Inference.Server;

/// <summary>One emulated fault of a local cloud: the replicas of a deployment's model version fail a share of inference requests.</summary>
public sealed record EmulatedFault(string Deployment, int Version, double ErrorRate);

/// <summary>
/// Faults a local cloud asks its replicas to emulate (<c>stratus cloud fault</c>): a JSON list of
/// <see cref="EmulatedFault"/> in a file the cloud writes, re-read when it changes (checked twice a second), so a
/// fault can start and end while the replicas run, as a real one would. The replica fails the given share of its
/// inference requests with 500 when one matches its served name and version.
/// </summary>
public sealed class EmulatedFaults : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _path;
    private readonly string _name;
    private readonly string _version;
    private readonly Timer _timer;
    private DateTime _seen;
    private volatile float _errorRate;

    public EmulatedFaults(string path, string name, string version)
    {
        _path = path;
        _name = name;
        _version = version;
        Reload();
        _timer = new Timer(_ => Reload(), null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
    }

    /// <summary>The share of inference requests to fail now (0 when no fault matches).</summary>
    public double ErrorRate => _errorRate;

    /// <summary>Whether this request is one the fault fails.</summary>
    public bool Fails() => _errorRate > 0 && Random.Shared.NextDouble() < _errorRate;

    private void Reload()
    {
        try
        {
            var written = File.Exists(_path) ? File.GetLastWriteTimeUtc(_path) : DateTime.MinValue;
            if (written == _seen)
            {
                return;
            }

            _seen = written;
            var faults = written == DateTime.MinValue ? [] : JsonSerializer.Deserialize<List<EmulatedFault>>(File.ReadAllText(_path), Json) ?? [];
            var match = faults.FirstOrDefault(f => f.Deployment == _name && f.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) == _version);
            _errorRate = (float)Math.Clamp(match?.ErrorRate ?? 0, 0, 1);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // Half-written or gone: the next look reads it again.
            _seen = DateTime.MinValue;
        }
    }

    public void Dispose() => _timer.Dispose();
}
