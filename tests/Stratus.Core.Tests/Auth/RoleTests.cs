using Stratus.Core.Auth;

namespace Stratus.Core.Tests.Auth;

public sealed class RoleTests
{
    [Theory]
    [InlineData(Role.Admin, Role.Deployer, true)]
    [InlineData(Role.Deployer, Role.Deployer, true)]
    [InlineData(Role.Viewer, Role.Deployer, false)]
    [InlineData(Role.Deployer, Role.Admin, false)]
    public void Allows_HigherRolesIncludeLowerOnes(Role held, Role required, bool expected) => Assert.Equal(expected, held.Allows(required));

    [Theory]
    [InlineData("admin", true)]
    [InlineData("viewer", true)]
    [InlineData("Admin", false)]
    [InlineData("1", false)]
    [InlineData("root", false)]
    public void TryParse_AcceptsOnlyTheWireNames(string text, bool expected) => Assert.Equal(expected, Roles.TryParse(text, out _));
}
