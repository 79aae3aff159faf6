using Stratus.Core.Audit;

namespace Stratus.ControlPlane.Store;

/// <summary>The append-only, hash-chained record of every change. Stores implement it; the chain rules live in Core.</summary>
public interface IAuditLog
{
    Task<AuditEntry> AppendAsync(string actor, string action, string target, string? before, string? after, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<AuditEntry>> ListAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default);

    Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default);
}
