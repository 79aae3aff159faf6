using Stratus.Core.Tls;
using Stratus.Inference.Batching;
using Stratus.Inference.Runtime;

namespace Stratus.Inference.Server;

/// <summary>What <c>stratus replica</c> serves and how.</summary>
public sealed class ReplicaOptions
{
    public required string ModelPath { get; set; }

    /// <summary>The model itself, when it was decrypted in memory (an encrypted artifact); null loads <see cref="ModelPath"/>.</summary>
    public byte[]? ModelBytes { get; set; }

    public required string ModelName { get; set; }

    public string ModelVersion { get; set; } = "1";

    /// <summary>Address to bind; loopback unless told otherwise.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Port to bind; 0 picks a free one (see <see cref="ReplicaHost.Address"/>).</summary>
    public int Port { get; set; } = 8000;

    /// <summary>Largest request body accepted; larger ones get 413 before they are read.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    public BatchingOptions Batching { get; set; } = new();

    /// <summary>Added to every v2 request, so a local cloud can stand in for a distant region.</summary>
    public TimeSpan EmulatedLatency { get; set; }

    /// <summary>A local cloud's file of <see cref="EmulatedFault"/>s to apply to this replica while it runs; null for none.</summary>
    public string? FaultFile { get; set; }

    public SessionSettings Session { get; set; } = new();

    /// <summary>
    /// Report ready (<c>/v2/health/ready</c> 200) only once <see cref="ReplicaHost.WarmedUp"/> is called, not as soon as the
    /// model loads: <c>stratus replica</c> warms its HTTP path first, so an orchestrator's readiness means warmed up.
    /// </summary>
    public bool ReadyAfterWarmUp { get; set; }

    /// <summary>
    /// HTTPS with a client certificate required, one the platform CA issued: only gateways and the control plane can
    /// call the replica. Not acted on yet: the replica serves plain HTTP either way.
    /// </summary>
    public ServerTls? Tls { get; set; }
}
