using System.Data.Common;
using Stratus.ControlPlane.Auth;
using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Store.Relational;

/// <summary>API tokens in a relational database, as hashes: the secret itself is never stored.</summary>
public abstract class RelationalTokenStore : ITokenStore
{
    private const string Columns = "id, role, description, created_at, revoked_at";

    private readonly IRelationalDatabase _database;
    private readonly TimeProvider _time;

    private protected RelationalTokenStore(IRelationalDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    public async Task<CreatedToken> CreateAsync(Role role, string description, CancellationToken cancellationToken = default) =>
        (await CreateAsync(role, description, onlyIfNone: false, cancellationToken))!;

    public Task<CreatedToken?> CreateFirstAdminAsync(string description, CancellationToken cancellationToken = default) =>
        CreateAsync(Role.Admin, description, onlyIfNone: true, cancellationToken);

    private Task<CreatedToken?> CreateAsync(Role role, string description, bool onlyIfNone, CancellationToken cancellationToken) => _database.WriteAsync(
        async (connection, transaction) =>
        {
            if (onlyIfNone)
            {
                // Servers starting on one empty store at once: one creates the first admin, the others find it.
                await _database.LockAsync(connection, transaction, LockKind.Tokens, "first", cancellationToken);
                if ((await Sql.QueryAsync(connection, transaction, "SELECT COUNT(*) FROM tokens;", reader => reader.GetInt64(0), cancellationToken))[0] > 0)
                {
                    return null;
                }
            }

            var (id, secret) = TokenSecrets.New();
            var info = new TokenInfo(id, role, description, _database.Kept(_time.GetUtcNow()), null);
            await Sql.ExecuteAsync(
                connection,
                transaction,
                "INSERT INTO tokens (id, hash, role, description, created_at) VALUES (@id, @hash, @role, @description, @created);",
                cancellationToken,
                ("@id", id),
                ("@hash", TokenSecrets.Hash(secret)),
                ("@role", role.ToWireName()),
                ("@description", description),
                ("@created", _database.Time(info.CreatedAt)));
            return (CreatedToken?)new CreatedToken(info, secret);
        },
        cancellationToken);

    public async Task<TokenInfo?> AuthenticateAsync(string secret, CancellationToken cancellationToken = default)
    {
        if (!secret.StartsWith(TokenSecrets.Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var found = await _database.QueryAsync($"SELECT {Columns} FROM tokens WHERE hash = @hash AND revoked_at IS NULL;", Read, cancellationToken, ("@hash", TokenSecrets.Hash(secret)));
        return found.Count == 1 ? found[0] : null;
    }

    public async Task<IReadOnlyList<TokenInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        await _database.QueryAsync($"SELECT {Columns} FROM tokens ORDER BY created_at, id;", Read, cancellationToken);

    public async Task<bool> RevokeAsync(string id, CancellationToken cancellationToken = default) => await _database.ExecuteAsync(
        "UPDATE tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL;",
        cancellationToken,
        ("@id", id),
        ("@now", _database.Time(_time.GetUtcNow()))) == 1;

    private static TokenInfo Read(DbDataReader reader) => new(
        reader.GetString(0),
        Roles.TryParse(reader.GetString(1), out var role) ? role : throw new InvalidDataException($"token {reader.GetString(0)} has unknown role '{reader.GetString(1)}'"),
        reader.GetString(2),
        reader.GetFieldValue<DateTimeOffset>(3),
        reader.GetTime(4));
}
