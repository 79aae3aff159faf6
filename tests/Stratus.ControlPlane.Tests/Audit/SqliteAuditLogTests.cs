using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;

namespace Stratus.ControlPlane.Tests.Audit;

public sealed class SqliteAuditLogTests : AuditLogContractTests
{
    private TempDatabase _temp = null!;

    protected override async Task<(IAuditLog, IAsyncDisposable)> CreateAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        return (new SqliteAuditLog(_temp.Database, TimeProvider.System), _temp);
    }

    private async Task AppendThreeAsync()
    {
        await Log.AppendAsync("admin", "model.push", "credit-risk/1", null, "{\"v\":1}");
        await Log.AppendAsync("admin", "deployment.create", "credit-risk", null, "{\"replicas\":3}");
        await Log.AppendAsync("admin", "deployment.scale", "credit-risk", "{\"replicas\":3}", "{\"replicas\":5}");
    }

    [Fact]
    public async Task Verify_EditedEntry_IsDetected()
    {
        await AppendThreeAsync();
        await _temp.ExecuteAsync("UPDATE audit SET after_json = '{\"replicas\":30}' WHERE seq = 2;");

        var verdict = await Log.VerifyAsync();

        Assert.False(verdict.Intact);
        Assert.Equal(2, verdict.FirstBadSequence);
        Assert.Contains("entry 2 was altered", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_DeletedEntry_IsDetected()
    {
        await AppendThreeAsync();
        await _temp.ExecuteAsync("DELETE FROM audit WHERE seq = 2;");

        var verdict = await Log.VerifyAsync();

        Assert.False(verdict.Intact);
        Assert.Contains("entry 2 is missing", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_DeletedAndRenumbered_IsDetectedByTheBrokenLink()
    {
        await AppendThreeAsync();
        await _temp.ExecuteAsync("DELETE FROM audit WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3;");

        var verdict = await Log.VerifyAsync();

        Assert.False(verdict.Intact);
        Assert.Contains("entry 2 does not follow entry 1", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ActorRewrittenWithItsHashRecomputedWrongly_IsDetected()
    {
        await AppendThreeAsync();
        await _temp.ExecuteAsync("UPDATE audit SET actor = 'intruder' WHERE seq = 1;");

        Assert.Equal(1, (await Log.VerifyAsync()).FirstBadSequence);
    }
}
