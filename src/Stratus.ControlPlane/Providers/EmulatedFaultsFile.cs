using System.Text.Json;
using Stratus.Inference.Server;

namespace Stratus.ControlPlane.Providers;

/// <summary>
/// The file of <see cref="EmulatedFault"/>s a cloud's replicas follow (their <c>--fault-file</c>, which
/// <see cref="EmulatedFaults"/> re-reads while they run): written whole then renamed, so a replica never reads half of it.
/// </summary>
public sealed class EmulatedFaultsFile(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Path { get; } = path;

    public IReadOnlyList<EmulatedFault> Faults
    {
        get
        {
            try
            {
                return File.Exists(Path) ? JsonSerializer.Deserialize<List<EmulatedFault>>(File.ReadAllText(Path), Json) ?? [] : [];
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                return [];
            }
        }
    }

    /// <summary>Sets the share of requests one deployment's version fails (at most 1); 0 ends its fault.</summary>
    public void Fault(string deployment, int version, double errorRate)
    {
        var faults = Faults.Where(f => f.Deployment != deployment || f.Version != version).ToList();
        if (errorRate > 0)
        {
            faults.Add(new EmulatedFault(deployment, version, Math.Min(1, errorRate)));
        }

        File.WriteAllText(Path + ".tmp", JsonSerializer.Serialize(faults, Json));
        File.Move(Path + ".tmp", Path, overwrite: true);
    }

    public void Clear() => File.Delete(Path);
}
