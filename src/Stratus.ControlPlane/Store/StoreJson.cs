using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stratus.ControlPlane.Store;

/// <summary>How every store writes its JSON columns (placements, rollouts, route tables): camelCase, enums as strings.</summary>
internal static class StoreJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
