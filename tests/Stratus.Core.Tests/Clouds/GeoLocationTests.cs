using Stratus.Core.Clouds;

namespace Stratus.Core.Tests.Clouds;

public sealed class GeoLocationTests
{
    [Fact]
    public void DistanceKm_WashingtonToDublin_IsAbout5450()
    {
        var distance = new GeoLocation(38.9, -77.0).DistanceKm(new GeoLocation(53.3, -6.3));

        Assert.InRange(distance, 5350, 5550);
    }

    [Fact]
    public void DistanceKm_ToItself_IsZeroAndSymmetric()
    {
        var a = new GeoLocation(1.35, 103.8);
        var b = new GeoLocation(-33.9, 151.2);

        Assert.Equal(0, a.DistanceKm(a), 6);
        Assert.Equal(a.DistanceKm(b), b.DistanceKm(a), 6);
    }
}
