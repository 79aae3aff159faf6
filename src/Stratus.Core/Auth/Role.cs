namespace Stratus.Core.Auth;

/// <summary>What a control-plane token may do; each role includes the ones below it.</summary>
public enum Role
{
    /// <summary>Read anything.</summary>
    Viewer,

    /// <summary>Read, push models, deploy, scale and roll out.</summary>
    Deployer,

    /// <summary>Everything, including tokens, clouds and outages.</summary>
    Admin,
}

public static class Roles
{
    public static bool Allows(this Role held, Role required) => held >= required;

    public static string ToWireName(this Role role) => role.ToString().ToLowerInvariant();

    public static bool TryParse(string text, out Role role)
    {
        (var ok, role) = text switch
        {
            "viewer" => (true, Role.Viewer),
            "deployer" => (true, Role.Deployer),
            "admin" => (true, Role.Admin),
            _ => (false, Role.Viewer),
        };
        return ok;
    }
}
