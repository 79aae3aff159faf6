using Microsoft.AspNetCore.Http;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary>
/// Reads a deployment spec from a request body and checks it with <see cref="DeploymentSpecValidation"/> against the
/// clouds and the registry's versions of its model: the deployment it asks for, or the 400 to answer.
/// </summary>
internal static class DeploymentSpecReader
{
    public static async Task<(DeploymentSpec? Spec, Deployment Deployment, IResult? Refused)> ReadAsync(HttpContext context, string name, ControlPlaneServices services, bool requireFeasible)
    {
        var (spec, malformed) = await ReadJsonAsync<DeploymentSpec>(context);
        if (malformed is not null)
        {
            return (null, null!, malformed);
        }

        var versions = string.IsNullOrEmpty(spec?.Model) ? [] : await VersionsAsync(services, spec.Model, context.RequestAborted);
        var check = DeploymentSpecValidation.Check(name, spec, services.Clouds ?? [], versions, requireFeasible);
        return check.Deployment is null
            ? (spec, null!, Problem(StatusCodes.Status400BadRequest, "invalid deployment", string.Join("; ", check.Problems)))
            : (spec, check.Deployment, null);
    }

    /// <summary>The version numbers the registry holds of a model.</summary>
    public static async Task<IReadOnlyCollection<int>> VersionsAsync(ControlPlaneServices services, string model, CancellationToken cancellationToken) =>
        [.. (await services.Models.ListAsync(model, cancellationToken)).Select(v => v.Version)];
}
