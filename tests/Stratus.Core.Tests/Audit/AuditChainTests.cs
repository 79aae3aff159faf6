using Stratus.Core.Audit;

namespace Stratus.Core.Tests.Audit;

public sealed class AuditChainTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static AuditEntry Entry(long sequence, byte[] previous, string? after = "x")
    {
        var hash = AuditChain.ComputeHash(previous, sequence, At, "admin", "act", "target", null, after);
        return new AuditEntry(sequence, At, "admin", "act", "target", null, after, previous, hash);
    }

    [Fact]
    public void Verify_EmptyLog_IsIntactWithTheGenesisHead()
    {
        var verdict = AuditChain.Verify([]);

        Assert.True(verdict.Intact);
        Assert.Equal(0, verdict.Entries);
        Assert.Equal(AuditChain.Genesis, verdict.HeadHash);
    }

    [Fact]
    public void Verify_WellFormedChain_IsIntact()
    {
        var first = Entry(1, AuditChain.Genesis);
        var second = Entry(2, first.Hash);

        Assert.True(AuditChain.Verify([first, second]).Intact);
    }

    [Fact]
    public void Verify_FirstEntryNotStartingAtOne_IsBroken()
    {
        var verdict = AuditChain.Verify([Entry(2, AuditChain.Genesis)]);

        Assert.False(verdict.Intact);
        Assert.Contains("entry 1 is missing", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ComputeHash_NullAndEmptyFields_HashDifferently()
    {
        Assert.NotEqual(
            AuditChain.ComputeHash(AuditChain.Genesis, 1, At, "a", "b", "c", null, null),
            AuditChain.ComputeHash(AuditChain.Genesis, 1, At, "a", "b", "c", string.Empty, null));
    }

    [Fact]
    public void ComputeHash_ShiftingTextBetweenFields_HashesDifferently()
    {
        Assert.NotEqual(
            AuditChain.ComputeHash(AuditChain.Genesis, 1, At, "ab", "c", "t", null, null),
            AuditChain.ComputeHash(AuditChain.Genesis, 1, At, "a", "bc", "t", null, null));
    }
}
