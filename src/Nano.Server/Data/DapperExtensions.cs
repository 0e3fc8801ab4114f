using Dapper;

namespace Nano.Server.Data;

internal static class DapperExtensions
{
    /// <summary>Adds one more named parameter to a parameter bag built from an object.</summary>
    public static DynamicParameters With(this DynamicParameters parameters, string name, object? value)
    {
        parameters.Add(name, value);
        return parameters;
    }
}
