using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Stratus.Core.Audit;

/// <summary>One change on the audit log: who did what to which object, with its state before and after.</summary>
public sealed record AuditEntry(
    long Sequence,
    DateTimeOffset At,
    string Actor,
    string Action,
    string Target,
    string? Before,
    string? After,
    byte[] PreviousHash,
    byte[] Hash);

/// <summary>The outcome of walking the chain: intact, or the first entry that breaks it and how.</summary>
public sealed record AuditVerification(bool Intact, long Entries, byte[] HeadHash, long? FirstBadSequence, string Reason);

/// <summary>
/// The hash chain of the audit log. Each entry's hash covers its fields and the previous entry's hash, so editing an
/// entry breaks its own hash and deleting one breaks the link or the numbering after it. Removing entries from the
/// end leaves a shorter valid chain; the head hash is reported so it can be compared with one recorded earlier.
/// </summary>
public static class AuditChain
{
    public static byte[] Genesis { get; } = new byte[32];

    public static byte[] ComputeHash(byte[] previousHash, long sequence, DateTimeOffset at, string actor, string action, string target, string? before, string? after)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(previousHash);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, sequence);
        hash.AppendData(number);
        BinaryPrimitives.WriteInt64BigEndian(number, at.ToUnixTimeMilliseconds());
        hash.AppendData(number);
        foreach (var field in new[] { actor, action, target, before, after })
        {
            // Length-prefixed, with null distinct from empty, so no two field lists hash alike.
            var bytes = field is null ? [] : Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt64BigEndian(number, field is null ? -1 : bytes.Length);
            hash.AppendData(number);
            hash.AppendData(bytes);
        }

        return hash.GetHashAndReset();
    }

    /// <summary>Checks entries given in sequence order.</summary>
    public static AuditVerification Verify(IEnumerable<AuditEntry> entries)
    {
        var previous = Genesis;
        long expected = 1;
        foreach (var entry in entries)
        {
            if (entry.Sequence != expected)
            {
                return Broken(expected - 1, previous, expected, $"entry {expected} is missing: the log jumps from {expected - 1} to {entry.Sequence}");
            }

            if (!entry.PreviousHash.AsSpan().SequenceEqual(previous))
            {
                return Broken(expected - 1, previous, entry.Sequence, $"entry {entry.Sequence} does not follow entry {entry.Sequence - 1}");
            }

            var recomputed = ComputeHash(entry.PreviousHash, entry.Sequence, entry.At, entry.Actor, entry.Action, entry.Target, entry.Before, entry.After);
            if (!recomputed.AsSpan().SequenceEqual(entry.Hash))
            {
                return Broken(expected - 1, previous, entry.Sequence, $"entry {entry.Sequence} was altered: its contents do not match its hash");
            }

            previous = entry.Hash;
            expected++;
        }

        return new AuditVerification(true, expected - 1, previous, null, $"{expected - 1} entries, chain intact");
    }

    private static AuditVerification Broken(long verified, byte[] head, long bad, string reason) => new(false, verified, head, bad, reason);
}
