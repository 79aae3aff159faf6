using System.Text.Json;
using Stratus.Core.Clouds;
using Stratus.Inference.Server;

namespace Stratus.ControlPlane.Providers;

/// <summary>
/// A cloud's emulated faults, kept as files in its folder so that they outlast a control-plane restart and every
/// provider instance over the cloud sees them: the outage marker, the refusal, and the faults its replicas re-read
/// while they run. The local and docker providers keep theirs here.
/// </summary>
internal sealed class EmulatedCloudState
{
    private readonly CloudSpec _cloud;
    private readonly EmulatedFaultsFile _faults;
    private readonly string _outageMarker;
    private readonly string _refuseMarker;

    public EmulatedCloudState(CloudSpec cloud, string root)
    {
        _cloud = cloud;
        Directory.CreateDirectory(root);
        _outageMarker = Path.Combine(root, "outage");
        _refuseMarker = Path.Combine(root, "refuse.json");
        _faults = new EmulatedFaultsFile(Path.Combine(root, "faults.json"));
    }

    /// <summary>The file replicas read their faults from (<c>stratus replica --fault-file</c>).</summary>
    public string FaultFile => _faults.Path;

    public bool IsOut => File.Exists(_outageMarker);

    public Task MarkOutAsync(CancellationToken cancellationToken) => File.WriteAllTextAsync(_outageMarker, DateTimeOffset.UtcNow.ToString("O"), cancellationToken);

    public void Restore() => File.Delete(_outageMarker);

    public string? Refusing => ReadRefusal()?.Describe();

    public void Refuse(ProvisioningScope scope, string? shape) =>
        File.WriteAllText(_refuseMarker, JsonSerializer.Serialize(new EmulatedRefusal(scope, shape)));

    public void Accept() => File.Delete(_refuseMarker);

    /// <summary>
    /// What a launch of <paramref name="shape"/> meets before anything runs: an outage, an emulated refusal, or a shape
    /// the cloud does not offer, each thrown with its scope; else the shape's capacity.
    /// </summary>
    public int CapacityForLaunch(string shape)
    {
        if (IsOut)
        {
            throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {_cloud.Name} is down");
        }

        if (ReadRefusal() is { } refusal && refusal.Covers(shape))
        {
            throw refusal.Refuse(_cloud.Name, shape);
        }

        return _cloud.Capacity.TryGetValue(shape, out var capacity)
            ? capacity
            : throw new ProvisioningException(ProvisioningScope.Shape, $"cloud {_cloud.Name} offers no shape '{shape}'");
    }

    /// <summary>Refuses a launch when <paramref name="running"/> replicas of the shape already fill its capacity.</summary>
    public void EnsureRoom(string shape, int capacity, int running)
    {
        if (running >= capacity)
        {
            throw new ProvisioningException(ProvisioningScope.Shape, $"cloud {_cloud.Name} has no capacity left for shape '{shape}' ({running} of {capacity} in use)");
        }
    }

    public IReadOnlyList<EmulatedFault> Faults => _faults.Faults;

    public void Fault(string deployment, int version, double errorRate) => _faults.Fault(deployment, version, errorRate);

    public void ClearFaults() => _faults.Clear();

    private EmulatedRefusal? ReadRefusal()
    {
        try
        {
            return File.Exists(_refuseMarker) ? JsonSerializer.Deserialize<EmulatedRefusal>(File.ReadAllText(_refuseMarker)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }
}
