namespace Stratus.ControlPlane.Store.Relational;

/// <summary>One versioned schema change of a relational store.</summary>
public sealed record SchemaMigration(int Version, string Name, string Sql)
{
    /// <summary>
    /// The migrations a database at <paramref name="current"/> still needs, in order. A database written by a newer
    /// Stratus (a version this binary does not know) is refused rather than guessed at.
    /// </summary>
    public static IReadOnlyList<SchemaMigration> Pending(IReadOnlyList<SchemaMigration> all, int current) =>
        current > all[^1].Version
            ? throw new InvalidOperationException($"the database is at schema version {current}, newer than this Stratus knows ({all[^1].Version}); upgrade Stratus")
            : [.. all.Where(m => m.Version > current)];
}
