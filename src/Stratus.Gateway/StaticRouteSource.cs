using System.Text.Json;
using System.Text.Json.Serialization;
using Stratus.Core.Routing;

namespace Stratus.Gateway;

/// <summary>
/// A route table read from a JSON file (the shape <c>GET /api/v1/routes</c> answers), for a gateway without a control
/// plane: benchmarks, or a fixed set of replicas. The file is read once.
/// </summary>
public sealed class StaticRouteSource : IRouteSource
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) } };
    private readonly RouteTable _table;

    public StaticRouteSource(string path)
    {
        var table = JsonSerializer.Deserialize<RouteTable>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} holds no route table");
        _table = table with { Version = Math.Max(1, table.Version) };
    }

    public async Task<RouteTable> WaitForNewerAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_table.Version > afterVersion)
        {
            return _table;
        }

        await Task.Delay(timeout, cancellationToken);
        return _table;
    }
}
