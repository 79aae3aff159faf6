using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Stratus.Inference.Server;

namespace Stratus.Gateway.Tests;

/// <summary>Real replicas for gateway tests: a sample model in ONNX Runtime on Kestrel port 0, served as the model "risk".</summary>
internal static partial class TestReplicas
{
    /// <summary>A started replica whose model has loaded, optionally emulating a far-away cloud (its latency applies to every v2 request, probes included).</summary>
    public static async Task<ReplicaHost> StartAsync(string model = "credit-risk.onnx", string version = "1", TimeSpan latency = default)
    {
        var replica = ReplicaHost.Create(
            new ReplicaOptions { ModelPath = Stratus.Testing.RepositoryFiles.Model(model), ModelName = "risk", ModelVersion = version, Port = 0, EmulatedLatency = latency },
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        try
        {
            await replica.StartAsync();
            await replica.ModelLoaded;
            return replica;
        }
        catch
        {
            await replica.DisposeAsync();
            throw;
        }
    }

    /// <summary>Inference requests the replica completed with an outcome ("success" or "failure"), from its own metrics.</summary>
    public static async Task<int> ServedAsync(ReplicaHost replica, string outcome = "success")
    {
        using var text = new MemoryStream();
        await replica.Metrics.Registry.CollectAndExportAsTextAsync(text);
        var match = RequestsTotal().Matches(Encoding.UTF8.GetString(text.ToArray())).FirstOrDefault(m => m.Groups["outcome"].Value == outcome);
        return match is null ? 0 : int.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("""stratus_inference_requests_total\{model="risk",version="[^"]*",outcome="(?<outcome>[a-z]+)"\} (?<count>\d+)""")]
    private static partial Regex RequestsTotal();
}
