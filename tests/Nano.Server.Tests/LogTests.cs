using System.Globalization;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Operation log #129-#131.</summary>
public sealed class LogTests(InitializedServer fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task Logs_AppendQueryDelete()
    {
        var marker = Guid.NewGuid().ToString("N");
        for (var i = 0; i < 3; i++)
            JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/logs/", new { content = $"{marker} line {i}", format = "ignored" }, Admin));

        var query = await Rest.GetAsync("/api/v1/logs/?limit=100", Admin);
        Assert.Equal(0, query.ErrorCode);
        var mine = query.Data!["logs"]!.AsArray().Where(l => l!["content"]!.GetValue<string>().StartsWith(marker)).ToList();
        Assert.Equal([$"{marker} line 2", $"{marker} line 1", $"{marker} line 0"], mine.Select(l => l!["content"]!.GetValue<string>()));
        foreach (var entry in mine)
        {
            var id = entry!["id"]!.GetValue<string>();
            Assert.Matches("^[0-9]{17}$", id);
            var time = DateTime.ParseExact(entry["time"]!.GetValue<string>(), "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            Assert.Equal(time.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture), id[..14]);
            Assert.Equal(["id", "time", "content"], entry.AsObject().Select(p => p.Key));
        }
        Assert.Equal(3, mine.Select(l => l!["id"]!.GetValue<string>()).Distinct().Count());
        Assert.True(query.Data!["total"]!.GetValue<int>() >= 3);

        var first = mine[2]!["id"]!.GetValue<string>();
        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/logs/", new { entries = new[] { first } }, Admin));
        var after = await Rest.GetAsync("/api/v1/logs/?limit=100", Admin);
        Assert.DoesNotContain(after.Data!["logs"]!.AsArray(), l => l!["id"]!.GetValue<string>() == first);
        Assert.Equal(query.Data!["total"]!.GetValue<int>() - 1, after.Data!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Logs_PageWithLimitAndStart()
    {
        for (var i = 0; i < 5; i++)
            Assert.Equal(0, (await Rest.PostAsync("/api/v1/logs/", new { content = $"page {i}" }, Admin)).ErrorCode);
        var all = (await Rest.GetAsync("/api/v1/logs/?limit=100", Admin)).Data!["logs"]!.AsArray().Select(l => l!["id"]!.GetValue<string>()).ToList();
        var page = (await Rest.GetAsync("/api/v1/logs/?limit=2&start=1", Admin)).Data!["logs"]!.AsArray().Select(l => l!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(all.Skip(1).Take(2), page);
        Assert.Equal(all.OrderDescending(StringComparer.Ordinal), all);
    }

    [Fact]
    public async Task Logs_TimeWindowIsHonoured()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/logs/", new { content = "in window" }, Admin)).ErrorCode);
        var old = await Rest.GetAsync("/api/v1/logs/?after=2001-01-01%2000:00:00&before=2001-01-02%2000:00:00", Admin);
        JsonAssert.Success("""{"logs":[],"total":0}""", old);
    }

    [Theory]
    [InlineData("/api/v1/logs/?after=yesterday")]
    [InlineData("/api/v1/logs/?before=2020-13-01%2000:00:00")]
    [InlineData("/api/v1/logs/?after=2021-01-02%2000:00:00&before=2021-01-01%2000:00:00")]
    [InlineData("/api/v1/logs/?limit=abc")]
    public async Task Logs_BadQuery_IsInvalid(string path)
    {
        JsonAssert.Failure(400, await Rest.GetAsync(path, Admin));
    }

    [Fact]
    public async Task Logs_DeleteWithBadIds_FailsAndChangesNothing()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/logs/", new { content = "keep me" }, Admin)).ErrorCode);
        var before = (await Rest.GetAsync("/api/v1/logs/?limit=100", Admin)).Data!["total"]!.GetValue<int>();
        var existing = (await Rest.GetAsync("/api/v1/logs/?limit=1", Admin)).Data!["logs"]![0]!["id"]!.GetValue<string>();
        JsonAssert.Failure(400, await Rest.DeleteAsync("/api/v1/logs/", new { entries = new[] { existing, "123" } }, Admin));
        JsonAssert.Failure(400, await Rest.DeleteAsync("/api/v1/logs/", new { entries = new[] { "20261399000000001" } }, Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync("/api/v1/logs/", new { entries = new[] { existing, "20010101000000001" } }, Admin));
        JsonAssert.Failure(400, await Rest.DeleteAsync("/api/v1/logs/", new { entries = Array.Empty<string>() }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/logs/", new { content = "" }, Admin));
        Assert.Equal(before, (await Rest.GetAsync("/api/v1/logs/?limit=100", Admin)).Data!["total"]!.GetValue<int>());
    }
}
