using System.Data.Common;
using Stratus.Core.Audit;

namespace Stratus.ControlPlane.Store.Relational;

/// <summary>The hash-chained audit log in a relational database: one chain, however many servers append to it.</summary>
public abstract class RelationalAuditLog : IAuditLog
{
    private const string Columns = "seq, at, actor, action, target, before_json, after_json, prev_hash, hash";

    private readonly IRelationalDatabase _database;
    private readonly TimeProvider _time;

    private protected RelationalAuditLog(IRelationalDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    // The chain's lock is taken before the head is read, so concurrent appends queue and never fork the chain.
    public Task<AuditEntry> AppendAsync(string actor, string action, string target, string? before, string? after, CancellationToken cancellationToken = default) => _database.WriteAsync(
        async (connection, transaction) =>
        {
            await _database.LockAsync(connection, transaction, LockKind.Audit, "chain", cancellationToken);
            var head = await Sql.QueryAsync(connection, transaction, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1;", reader => (Sequence: reader.GetInt64(0), Hash: (byte[])reader.GetValue(1)), cancellationToken);
            var sequence = head.Count == 0 ? 1 : head[0].Sequence + 1;
            var previous = head.Count == 0 ? AuditChain.Genesis : head[0].Hash;

            // The hash covers milliseconds, so the stored time keeps exactly those.
            var at = DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());
            var hash = AuditChain.ComputeHash(previous, sequence, at, actor, action, target, before, after);
            await Sql.ExecuteAsync(
                connection,
                transaction,
                $"INSERT INTO audit ({Columns}) VALUES (@seq, @at, @actor, @action, @target, @before, @after, @prev, @hash);",
                cancellationToken,
                ("@seq", sequence),
                ("@at", _database.Time(at)),
                ("@actor", actor),
                ("@action", action),
                ("@target", target),
                ("@before", before),
                ("@after", after),
                ("@prev", previous),
                ("@hash", hash));
            return new AuditEntry(sequence, at, actor, action, target, before, after, previous, hash);
        },
        cancellationToken);

    public async Task<IReadOnlyList<AuditEntry>> ListAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync($"SELECT {Columns} FROM audit WHERE seq > @after ORDER BY seq LIMIT @limit;", Read, cancellationToken, ("@after", afterSequence), ("@limit", limit));

    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) =>
        AuditChain.Verify(await _database.QueryAsync($"SELECT {Columns} FROM audit ORDER BY seq;", Read, cancellationToken));

    private static AuditEntry Read(DbDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetFieldValue<DateTimeOffset>(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.GetString(4),
        reader.GetText(5),
        reader.GetText(6),
        (byte[])reader.GetValue(7),
        (byte[])reader.GetValue(8));
}
