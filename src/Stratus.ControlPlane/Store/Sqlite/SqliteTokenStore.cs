using System.Globalization;
using Microsoft.Data.Sqlite;
using Stratus.ControlPlane.Auth;
using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Store.Sqlite;

public sealed class SqliteTokenStore(SqliteDatabase database, TimeProvider time) : ITokenStore
{
    public async Task<CreatedToken> CreateAsync(Role role, string description, CancellationToken cancellationToken = default)
    {
        var (id, secret) = TokenSecrets.New();
        var info = new TokenInfo(id, role, description, time.GetUtcNow(), null);
        await ExecuteAsync(
            "INSERT INTO tokens (id, hash, role, description, created_at) VALUES ($id, $hash, $role, $description, $created);",
            cancellationToken,
            ("$id", id),
            ("$hash", TokenSecrets.Hash(secret)),
            ("$role", role.ToWireName()),
            ("$description", description),
            ("$created", info.CreatedAt.ToString("O", CultureInfo.InvariantCulture)));
        return new CreatedToken(info, secret);
    }

    public async Task<TokenInfo?> AuthenticateAsync(string secret, CancellationToken cancellationToken = default)
    {
        if (!secret.StartsWith(TokenSecrets.Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, role, description, created_at, revoked_at FROM tokens WHERE hash = $hash AND revoked_at IS NULL;";
        command.Parameters.AddWithValue("$hash", TokenSecrets.Hash(secret));
        var found = await ReadAsync(command, cancellationToken);
        return found.Count == 1 ? found[0] : null;
    }

    public async Task<IReadOnlyList<TokenInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, role, description, created_at, revoked_at FROM tokens ORDER BY created_at, id;";
        return await ReadAsync(command, cancellationToken);
    }

    public async Task<bool> RevokeAsync(string id, CancellationToken cancellationToken = default) => await ExecuteAsync(
        "UPDATE tokens SET revoked_at = $now WHERE id = $id AND revoked_at IS NULL;",
        cancellationToken,
        ("$id", id),
        ("$now", time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture))) == 1;

    private Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) => database.WriteAsync(
        async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection, transaction, sql, parameters);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        },
        cancellationToken);

    private static async Task<List<TokenInfo>> ReadAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var tokens = new List<TokenInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!Roles.TryParse(reader.GetString(1), out var role))
            {
                throw new InvalidDataException($"token {reader.GetString(0)} has unknown role '{reader.GetString(1)}'");
            }

            tokens.Add(new TokenInfo(
                reader.GetString(0),
                role,
                reader.GetString(2),
                DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                reader.IsDBNull(4) ? null : DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)));
        }

        return tokens;
    }
}
