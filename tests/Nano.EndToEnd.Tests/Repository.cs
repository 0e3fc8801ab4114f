namespace Nano.EndToEnd.Tests;

/// <summary>The repository the tests run from (found upwards from the test assembly: the folder holding tools/nano).</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tools", "nano")))
                return dir.FullName;
        }
        throw new InvalidOperationException("tools/nano not found above the test's folder");
    }
}
