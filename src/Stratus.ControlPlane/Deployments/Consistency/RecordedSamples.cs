using System.Text;
using System.Text.Json;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store;
using Stratus.Core.Deployments;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Deployments.Consistency;

/// <summary>
/// Keeps live requests that gateways recorded for deployments that opted in (<see cref="Deployment.RecordProbes"/>)
/// as samples of the version that answered them, up to that many per version, each checked against the signature
/// like any sample. Later replicas of the version are then checked on real traffic. Nothing is kept for a
/// deployment that did not opt in, whatever a gateway sends.
/// </summary>
public sealed class RecordedSamples(IDeploymentStateStore deployments, ModelRegistry registry, IAuditLog audit) : IRequestSampleSink
{
    public const string Source = "gateway";

    public async ValueTask RecordAsync(string deployment, int version, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        var d = (await deployments.ListAsync(cancellationToken)).FirstOrDefault(x => x.Name == deployment);
        if (d is not { RecordProbes: > 0 } || await registry.GetAsync(d.Model, version, cancellationToken) is not { } found)
        {
            return;
        }

        var recorded = (await registry.ListSamplesAsync(found, cancellationToken)).Count(s => s.Source == Source);
        if (recorded >= d.RecordProbes || found.Samples >= ModelRegistry.MaxSamples)
        {
            return;
        }

        try
        {
            if (await registry.AddSamplesAsync(found, [Encoding.UTF8.GetString(request.Span)], Source, cancellationToken) > 0)
            {
                await audit.AppendAsync("gateway", "model.samples", $"{found.Name}/{found.Version}", null, JsonSerializer.Serialize(new { added = 1, source = Source, deployment }), cancellationToken);
            }
        }
        catch (ModelRejectedException)
        {
            // Answered by the model but not a fit for its signature as a sample (it never is, in practice): not kept.
        }
    }
}
