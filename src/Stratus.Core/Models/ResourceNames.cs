namespace Stratus.Core.Models;

/// <summary>Names of models and deployments: what Kubernetes and DNS accept as a label.</summary>
public static class ResourceNames
{
    /// <summary>What is wrong with <paramref name="name"/> as a <paramref name="kind"/> ("model name"), or null when it is sound.</summary>
    public static string? Problem(string name, string kind)
    {
        var ok = name.Length is > 0 and <= 63
            && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            && name[0] != '-' && name[^1] != '-';
        return ok ? null : $"{kind} '{name}' must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'";
    }
}
