using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Stratus.Core.Models;

namespace Stratus.Core.Api;

/// <summary>
/// The JSON of the control plane's API, as the server writes it and the client reads it: camelCase names, enums as
/// camelCase strings, datatypes as the v2 protocol names them. Numbers must be JSON numbers: the web defaults would
/// read <c>"replicas": "3"</c> as 3, and a spec that says what it means is what the docs promise.
/// </summary>
public static class ApiJson
{
    /// <summary>
    /// Deeper JSON is refused while it is read. A deployment spec is a few levels and its probe samples' tensor data
    /// at most 16 more; a hostile 20,000-level body is refused at level 65 without recursing further.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>For reading answers: fields a newer server adds are skipped.</summary>
    public static JsonSerializerOptions Options { get; } = Create(JsonUnmappedMemberHandling.Skip);

    /// <summary>For reading requests: unknown fields are refused, so a misspelt one is an error rather than ignored.</summary>
    public static JsonSerializerOptions Strict { get; } = Create(JsonUnmappedMemberHandling.Disallow);

    /// <summary>An enum value as the API writes it (<c>rolledBack</c>, <c>ready</c>).</summary>
    public static string ToJsonName<T>(this T value)
        where T : struct, Enum => JsonNamingPolicy.CamelCase.ConvertName(value.ToString());

    private static JsonSerializerOptions Create(JsonUnmappedMemberHandling unmapped) => new(JsonSerializerDefaults.Web)
    {
        Converters = { new TensorDataTypeJsonConverter(), new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        UnmappedMemberHandling = unmapped,
        NumberHandling = JsonNumberHandling.Strict,
        MaxDepth = MaxDepth,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { ReadTensorSpecs } },
    };

    // A tensor spec has two constructors, so a reader would pick neither: it is made empty and its init properties set.
    private static void ReadTensorSpecs(JsonTypeInfo info)
    {
        if (info.Type == typeof(TensorSpec))
        {
            info.CreateObject = () => new TensorSpec(string.Empty, default, [], []);
        }
    }
}
