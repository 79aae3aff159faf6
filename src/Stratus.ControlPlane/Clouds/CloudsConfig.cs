using Stratus.Core.Clouds;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Stratus.ControlPlane.Clouds;

/// <summary>A <c>clouds.yaml</c> that cannot be used, with every problem found and where it is.</summary>
public sealed class CloudsConfigException(IReadOnlyList<string> problems)
    : Exception("clouds.yaml is invalid: " + string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>Reads and checks <c>clouds.yaml</c>; every problem is reported with its path, not just the first.</summary>
public static class CloudsConfig
{
    public static readonly string[] Providers = ["local", "kubernetes"];

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    /// <summary>The three local clouds <c>stratus up</c> starts with.</summary>
    public static string DefaultYaml()
    {
        using var stream = typeof(CloudsConfig).Assembly.GetManifestResourceStream("Stratus.ControlPlane.default-clouds.yaml")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static IReadOnlyList<CloudSpec> Parse(string yaml)
    {
        Document? document;
        try
        {
            document = Deserializer.Deserialize<Document>(yaml);
        }
        catch (YamlException e)
        {
            throw new CloudsConfigException([$"line {e.Start.Line}, column {e.Start.Column}: {e.InnerException?.Message ?? e.Message}"]);
        }

        var problems = new List<string>();
        var clouds = new List<CloudSpec>();
        if (document?.Clouds is not { Count: > 0 })
        {
            throw new CloudsConfigException(["'clouds' must list at least one cloud"]);
        }

        for (var i = 0; i < document.Clouds.Count; i++)
        {
            var cloud = Check(document.Clouds[i], $"clouds[{i}]", problems);
            if (cloud is not null)
            {
                clouds.Add(cloud);
            }
        }

        foreach (var duplicate in clouds.GroupBy(c => c.Name).Where(g => g.Count() > 1))
        {
            problems.Add($"cloud name '{duplicate.Key}' is used {duplicate.Count()} times");
        }

        return problems.Count == 0 ? clouds : throw new CloudsConfigException(problems);
    }

    private static CloudSpec? Check(Entry entry, string at, List<string> problems)
    {
        var before = problems.Count;
        Require(entry.Name is { Length: > 0 } name && IsLabel(name), $"{at}.name must be a lower-case name of a-z, 0-9 and '-'", problems);
        Require(entry.Provider is not null && Providers.Contains(entry.Provider), $"{at}.provider must be one of {string.Join(", ", Providers)}", problems);
        Require(!string.IsNullOrWhiteSpace(entry.Region), $"{at}.region is required", problems);
        Require(entry.Jurisdiction is { Length: > 0 } j && IsLabel(j), $"{at}.jurisdiction must be a lower-case code such as us, eu or cn", problems);
        Require(entry.Location is { Lat: >= -90 and <= 90, Lon: >= -180 and <= 180 }, $"{at}.location needs lat within -90..90 and lon within -180..180", problems);
        Require(entry.LatencyMs is null or >= 0, $"{at}.latencyMs must not be negative", problems);
        Require(entry.Capacity is { Count: > 0 }, $"{at}.capacity must give at least one shape", problems);
        foreach (var (shape, count) in entry.Capacity ?? [])
        {
            Require(count >= 0, $"{at}.capacity.{shape} must not be negative", problems);
            Require(entry.Prices?.ContainsKey(shape) == true, $"{at}.prices has no price for shape '{shape}'", problems);
        }

        foreach (var (shape, price) in entry.Prices ?? [])
        {
            Require(price is { OnDemand: >= 0, Spot: >= 0 }, $"{at}.prices.{shape} needs onDemand and spot prices of 0 or more", problems);
        }

        if (problems.Count > before)
        {
            return null;
        }

        return new CloudSpec(
            entry.Name!,
            entry.Provider!,
            entry.Region!,
            entry.Jurisdiction!,
            new GeoLocation(entry.Location!.Lat!.Value, entry.Location.Lon!.Value),
            entry.Capacity!.ToDictionary(kv => kv.Key, kv => kv.Value),
            entry.Prices!.ToDictionary(kv => kv.Key, kv => new ShapePrice(kv.Value.OnDemand!.Value, kv.Value.Spot!.Value)),
            TimeSpan.FromMilliseconds(entry.LatencyMs ?? 0));
    }

    private static void Require(bool condition, string problem, List<string> problems)
    {
        if (!condition)
        {
            problems.Add(problem);
        }
    }

    private static bool IsLabel(string text) =>
        text.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && text[0] != '-' && text[^1] != '-';

    // YAML shapes, all optional so that every missing field becomes a reported problem rather than an exception.
    private sealed class Document
    {
        public List<Entry>? Clouds { get; set; }
    }

    private sealed class Entry
    {
        public string? Name { get; set; }

        public string? Provider { get; set; }

        public string? Region { get; set; }

        public string? Jurisdiction { get; set; }

        public Point? Location { get; set; }

        public double? LatencyMs { get; set; }

        public Dictionary<string, int>? Capacity { get; set; }

        public Dictionary<string, Price>? Prices { get; set; }
    }

    private sealed class Point
    {
        public double? Lat { get; set; }

        public double? Lon { get; set; }
    }

    private sealed class Price
    {
        public decimal? OnDemand { get; set; }

        public decimal? Spot { get; set; }
    }
}
