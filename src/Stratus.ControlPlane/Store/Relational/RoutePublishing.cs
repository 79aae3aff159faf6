using System.Text.Json;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Store.Relational;

/// <summary>What every route store does with the stored table on a publish, and how it writes the routes.</summary>
internal static class RoutePublishing
{
    /// <summary>The table in force after publishing <paramref name="routes"/> over <paramref name="stored"/>: the stored one itself when the routes are the same.</summary>
    public static RouteTable Next(RouteTable? stored, IReadOnlyList<Route> routes, long atLeastVersion)
    {
        var candidate = new RouteTable(0, routes);
        if (stored is not null && stored.SameRoutesAs(candidate))
        {
            return stored;
        }

        return candidate with { Version = Math.Max((stored?.Version ?? 0) + 1, atLeastVersion) };
    }

    public static string Serialize(IReadOnlyList<Route> routes) => JsonSerializer.Serialize(routes, StoreJson.Options);

    public static RouteTable Parse(long version, string json) =>
        new(version, JsonSerializer.Deserialize<List<Route>>(json, StoreJson.Options) ?? throw new InvalidDataException("the stored route table holds no routes"));
}
