using Xunit;

namespace Nano.Testing;

/// <summary>The one way tests wait for something the system does on its own time.</summary>
public static class Wait
{
    /// <summary>
    /// Checks <paramref name="condition"/> every <paramref name="every"/> (100 ms) until it holds; fails the test when it
    /// still does not after <paramref name="patience"/> (<see cref="TestServer.Deadline"/>).
    /// </summary>
    public static async Task ForAsync(Func<Task<bool>> condition, TimeSpan? patience = null, TimeSpan? every = null)
    {
        var limit = patience ?? TestServer.Deadline;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met within {limit.TotalSeconds} s");
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
        }
    }
}
