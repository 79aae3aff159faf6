using System.Globalization;
using Microsoft.Data.Sqlite;
using Stratus.Core.Audit;

namespace Stratus.ControlPlane.Store.Sqlite;

public sealed class SqliteAuditLog(SqliteDatabase database, TimeProvider time) : IAuditLog
{
    // The write lock is taken before the head is read, so concurrent appends cannot fork the chain.
    public Task<AuditEntry> AppendAsync(string actor, string action, string target, string? before, string? after, CancellationToken cancellationToken = default) =>
        database.WriteAsync((connection, transaction) => AppendAsync(connection, transaction, actor, action, target, before, after, cancellationToken), cancellationToken);

    private async Task<AuditEntry> AppendAsync(SqliteConnection connection, SqliteTransaction transaction, string actor, string action, string target, string? before, string? after, CancellationToken cancellationToken)
    {
        long sequence = 1;
        var previous = AuditChain.Genesis;
        await using (var head = connection.CreateCommand())
        {
            head.Transaction = transaction;
            head.CommandText = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1;";
            await using var reader = await head.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                sequence = reader.GetInt64(0) + 1;
                previous = (byte[])reader.GetValue(1);
            }
        }

        // The hash covers milliseconds, so the stored time keeps exactly those.
        var at = DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());
        var hash = AuditChain.ComputeHash(previous, sequence, at, actor, action, target, before, after);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO audit (seq, at, actor, action, target, before_json, after_json, prev_hash, hash)
                VALUES ($seq, $at, $actor, $action, $target, $before, $after, $prev, $hash);
                """;
            insert.Parameters.AddWithValue("$seq", sequence);
            insert.Parameters.AddWithValue("$at", at.ToString("O", CultureInfo.InvariantCulture));
            insert.Parameters.AddWithValue("$actor", actor);
            insert.Parameters.AddWithValue("$action", action);
            insert.Parameters.AddWithValue("$target", target);
            insert.Parameters.AddWithValue("$before", (object?)before ?? DBNull.Value);
            insert.Parameters.AddWithValue("$after", (object?)after ?? DBNull.Value);
            insert.Parameters.AddWithValue("$prev", previous);
            insert.Parameters.AddWithValue("$hash", hash);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return new AuditEntry(sequence, at, actor, action, target, before, after, previous, hash);
    }

    public async Task<IReadOnlyList<AuditEntry>> ListAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, at, actor, action, target, before_json, after_json, prev_hash, hash FROM audit WHERE seq > $after ORDER BY seq LIMIT $limit;";
        command.Parameters.AddWithValue("$after", afterSequence);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadAsync(command, cancellationToken);
    }

    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, at, actor, action, target, before_json, after_json, prev_hash, hash FROM audit ORDER BY seq;";
        return AuditChain.Verify(await ReadAsync(command, cancellationToken));
    }

    private static async Task<List<AuditEntry>> ReadAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new AuditEntry(
                reader.GetInt64(0),
                DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                (byte[])reader.GetValue(7),
                (byte[])reader.GetValue(8)));
        }

        return entries;
    }
}
