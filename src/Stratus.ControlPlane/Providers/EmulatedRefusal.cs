namespace Stratus.ControlPlane.Providers;

/// <summary>
/// A refusal a cloud emulates (<c>stratus cloud refuse</c>): launches of one shape, or of every shape when
/// <see cref="Shape"/> is null, are refused at <see cref="Scope"/>, as by a cloud out of capacity or quota. Shared by the
/// providers that emulate faults, so every cloud words a refusal alike.
/// </summary>
public sealed record EmulatedRefusal(ProvisioningScope Scope, string? Shape)
{
    public bool Covers(string shape) => Shape is null || Shape == shape;

    /// <summary>What is refused, as <see cref="IOutageEmulation.Refusing"/> shows it: "shape cpu-small (shape)".</summary>
    public string Describe() => $"{(Shape is null ? "every shape" : $"shape {Shape}")} ({Scope.ToString().ToLowerInvariant()})";

    public ProvisioningException Refuse(string cloud, string shape) =>
        new(Scope, $"cloud {cloud} refused the launch: no '{shape}' capacity available (emulated {Scope.ToString().ToLowerInvariant()} refusal)");
}
