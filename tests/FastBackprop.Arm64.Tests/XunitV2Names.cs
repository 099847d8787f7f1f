// xunit 2 keeps ITestOutputHelper in Xunit.Abstractions; xunit.v3 moved it to Xunit. The shared test sources say
// `using Xunit.Abstractions;` for the main project; this makes the namespace exist here, where the type comes from Xunit.
namespace Xunit.Abstractions
{
    internal static class XunitV2Names
    {
    }
}
