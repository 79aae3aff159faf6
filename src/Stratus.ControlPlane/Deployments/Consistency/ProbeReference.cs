namespace Stratus.ControlPlane.Deployments.Consistency;

/// <summary>
/// The first answer a replica of one model file gave to one probe: its numbers, or that the model rejected the probe
/// as input it cannot take (with the model's reason). Every later replica of the same file must give the same.
/// </summary>
public sealed record ProbeReference(bool Answered, double[]? Answer, string? Detail, string Replica);
