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
    private static readonly JsonSerializerOptions FaultJson = new(JsonSerializerDefaults.Web);
    private readonly CloudSpec _cloud;
    private readonly string _outageMarker;
    private readonly string _refuseMarker;

    public EmulatedCloudState(CloudSpec cloud, string root)
    {
        _cloud = cloud;
        Directory.CreateDirectory(root);
        _outageMarker = Path.Combine(root, "outage");
        _refuseMarker = Path.Combine(root, "refuse.json");
        FaultFile = Path.Combine(root, "faults.json");
    }

    /// <summary>The file replicas read their faults from (<c>stratus replica --fault-file</c>).</summary>
    public string FaultFile { get; }

    public bool IsOut => File.Exists(_outageMarker);

    public Task MarkOutAsync(CancellationToken cancellationToken) => File.WriteAllTextAsync(_outageMarker, DateTimeOffset.UtcNow.ToString("O"), cancellationToken);

    public void Restore() => File.Delete(_outageMarker);

    public string? Refusing => ReadRefusal() is { } refusal
        ? $"{(refusal.Shape is null ? "every shape" : $"shape {refusal.Shape}")} ({refusal.Scope.ToString().ToLowerInvariant()})"
        : null;

    public void Refuse(ProvisioningScope scope, string? shape) =>
        File.WriteAllText(_refuseMarker, JsonSerializer.Serialize(new Refusal(scope, shape)));

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

        if (ReadRefusal() is { } refusal && (refusal.Shape is null || refusal.Shape == shape))
        {
            throw new ProvisioningException(refusal.Scope, $"cloud {_cloud.Name} refused the launch: no '{shape}' capacity available (emulated {refusal.Scope.ToString().ToLowerInvariant()} refusal)");
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

    public IReadOnlyList<EmulatedFault> Faults
    {
        get
        {
            try
            {
                return File.Exists(FaultFile) ? JsonSerializer.Deserialize<List<EmulatedFault>>(File.ReadAllText(FaultFile), FaultJson) ?? [] : [];
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                return [];
            }
        }
    }

    public void Fault(string deployment, int version, double errorRate)
    {
        var faults = Faults.Where(f => f.Deployment != deployment || f.Version != version).ToList();
        if (errorRate > 0)
        {
            faults.Add(new EmulatedFault(deployment, version, Math.Min(1, errorRate)));
        }

        // Written whole then renamed: replicas re-read it when it changes.
        File.WriteAllText(FaultFile + ".tmp", JsonSerializer.Serialize(faults, FaultJson));
        File.Move(FaultFile + ".tmp", FaultFile, overwrite: true);
    }

    public void ClearFaults() => File.Delete(FaultFile);

    private Refusal? ReadRefusal()
    {
        try
        {
            return File.Exists(_refuseMarker) ? JsonSerializer.Deserialize<Refusal>(File.ReadAllText(_refuseMarker)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    private sealed record Refusal(ProvisioningScope Scope, string? Shape);
}
