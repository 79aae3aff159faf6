using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Audit;

/// <summary>What every audit log store must do; each store's tests subclass this.</summary>
public abstract class AuditLogContractTests : StoreContractTests<IAuditLog>
{
    protected IAuditLog Log => Store;

    /// <summary>Runs raw SQL against the log's database, as someone with access to it could.</summary>
    protected abstract Task TamperAsync(string sql);

    [Fact]
    public async Task Append_NumbersEntriesAndChainsThem()
    {
        var first = await Log.AppendAsync("admin", "model.push", "credit-risk/1", null, "{\"sha256\":\"ab\"}");
        var second = await Log.AppendAsync("ci", "deployment.scale", "credit-risk", "{\"replicas\":1}", "{\"replicas\":3}");

        Assert.Equal(1, first.Sequence);
        Assert.Equal(2, second.Sequence);
        Assert.Equal(first.Hash, second.PreviousHash);
        Assert.Equal(new byte[32], first.PreviousHash);
    }

    [Fact]
    public async Task List_ReturnsEntriesInOrderAfterASequence()
    {
        for (var i = 0; i < 5; i++)
        {
            await Log.AppendAsync("admin", "token.create", $"t{i}", null, null);
        }

        var page = await Log.ListAsync(afterSequence: 2, limit: 2);

        Assert.Equal([3L, 4L], page.Select(e => e.Sequence));
        Assert.Equal(["t2", "t3"], page.Select(e => e.Target));
    }

    [Fact]
    public async Task Verify_UntouchedLog_IsIntactAndReportsTheHead()
    {
        await Log.AppendAsync("admin", "a", "x", null, null);
        var last = await Log.AppendAsync("admin", "b", "y", "before", "after");

        var verdict = await Log.VerifyAsync();

        Assert.True(verdict.Intact, verdict.Reason);
        Assert.Equal(2, verdict.Entries);
        Assert.Equal(last.Hash, verdict.HeadHash);
    }

    [Fact]
    public async Task Append_Concurrently_KeepsOneUnbrokenChain()
    {
        await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Log.AppendAsync($"user{i}", "deploy", $"d{i}", null, null)));

        var verdict = await Log.VerifyAsync();

        Assert.True(verdict.Intact, verdict.Reason);
        Assert.Equal(24, verdict.Entries);
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
        await TamperAsync("UPDATE audit SET after_json = '{\"replicas\":30}' WHERE seq = 2;");

        var verdict = await Log.VerifyAsync();

        Assert.False(verdict.Intact);
        Assert.Equal(2, verdict.FirstBadSequence);
        Assert.Contains("entry 2 was altered", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_DeletedEntry_IsDetected()
    {
        await AppendThreeAsync();
        await TamperAsync("DELETE FROM audit WHERE seq = 2;");

        var verdict = await Log.VerifyAsync();

        Assert.False(verdict.Intact);
        Assert.Contains("entry 2 is missing", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_DeletedAndRenumbered_IsDetectedByTheBrokenLink()
    {
        await AppendThreeAsync();
        await TamperAsync("DELETE FROM audit WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3;");

        var verdict = await Log.VerifyAsync();

        Assert.False(verdict.Intact);
        Assert.Contains("entry 2 does not follow entry 1", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ActorRewrittenWithItsHashRecomputedWrongly_IsDetected()
    {
        await AppendThreeAsync();
        await TamperAsync("UPDATE audit SET actor = 'intruder' WHERE seq = 1;");

        Assert.Equal(1, (await Log.VerifyAsync()).FirstBadSequence);
    }
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresAuditLogTests(PostgresServer server) : AuditLogContractTests
{
    private PostgresTestDatabase _database = null!;

    protected override async Task<(IAuditLog, IAsyncDisposable)> CreateAsync()
    {
        _database = await server.CreateDatabaseAsync();
        return (new PostgresAuditLog(_database.Database, TimeProvider.System), _database);
    }

    protected override Task TamperAsync(string sql) => _database.ExecuteAsync(sql);
}
