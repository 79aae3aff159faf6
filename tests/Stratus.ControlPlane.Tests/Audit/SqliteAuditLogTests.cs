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

    protected override Task TamperAsync(string sql) => _temp.ExecuteAsync(sql);
}
