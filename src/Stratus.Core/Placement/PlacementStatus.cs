namespace Stratus.Core.Placement;

/// <summary>A deployment's last plan, what was blocked for it, and why it is short if it is.</summary>
public sealed record PlacementStatus(PlacementPlan Plan, IReadOnlyList<Block> Blocked, DateTimeOffset At);
