using System.CommandLine;

namespace Stratus.Cli.Commands;

/// <summary><c>--cluster-id</c>: the installation's name on every container and pod it makes (<see cref="Stratus.ControlPlane.Hosting.ControlPlaneOptions.ClusterId"/>).</summary>
internal static class ClusterId
{
    public static Option<string> Option()
    {
        var option = new Option<string>("--cluster-id")
        {
            Description = "This installation's name, labelled on its containers and pods: servers of one installation share it, two installations on one Docker engine or cluster need different ones.",
            DefaultValueFactory = _ => "stratus",
        };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>() ?? string.Empty;
            if (value.Length is 0 or > 40 || !value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') || value[0] == '-' || value[^1] == '-')
            {
                result.AddError($"--cluster-id must be 1 to 40 characters of a-z, 0-9 and '-', not starting or ending with '-' (got '{value}')");
            }
        });
        return option;
    }
}
