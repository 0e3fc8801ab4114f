using Grpc.Core;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Tests;

/// <summary>The attempts of a change a cell applies without a row lock (Domain/OptimisticChange), without a server.</summary>
public sealed class OptimisticChangeTests
{
    private sealed record Row(int Version, string Value);

    [Fact]
    public async Task AChangeThatLostToAnother_StartsAgainFromTheStoredRow()
    {
        var stored = new Row(1, "theirs");
        var seen = new List<Row>();
        var written = await OptimisticChange.RunAsync(new Row(0, "old"), () => Task.FromResult<Row?>(stored),
            row =>
            {
                seen.Add(row);
                return Task.FromResult(row.Version == stored.Version ? Written.Done : Written.Busy);
            },
            _ => throw new InvalidOperationException("nothing to restore"), "row");

        Assert.Equal(WriteOutcome.Done, written.Outcome);
        Assert.Equal([new Row(0, "old"), stored], seen);
    }

    [Fact]
    public async Task AChangeThatKeepsLosing_GivesUpAborted_AndTheCellGoesBackToTheStoredRow()
    {
        var version = 0;
        var attempts = 0;
        var restored = new List<Row>();
        var failure = await Assert.ThrowsAsync<RpcException>(() => OptimisticChange.RunAsync(new Row(version, "v"),
            () => Task.FromResult<Row?>(new Row(++version, "v")),
            _ =>
            {
                attempts++;
                return Task.FromResult(Written.Busy);
            },
            row =>
            {
                restored.Add(row);
                return Task.CompletedTask;
            }, "guest 'g'"));

        Assert.Equal(StatusCode.Aborted, failure.StatusCode);
        Assert.Equal(OptimisticChange.Attempts, attempts);
        Assert.Equal([new Row(OptimisticChange.Attempts, "v")], restored);
    }

    [Fact]
    public async Task ARefusalAfterAnEarlierAttemptReachedTheCell_RestoresTheStoredRow_AndIsRaised()
    {
        var restored = new List<Row>();
        var attempt = 0;
        var failure = await Assert.ThrowsAsync<RpcException>(() => OptimisticChange.RunAsync(new Row(0, "a"),
            () => Task.FromResult<Row?>(new Row(1, "b")),
            _ => ++attempt == 1 ? Task.FromResult(Written.Busy) : throw Fail.Precondition("the cell refused"),
            row =>
            {
                restored.Add(row);
                return Task.CompletedTask;
            }, "row"));

        Assert.Equal(StatusCode.FailedPrecondition, failure.StatusCode);
        Assert.Equal([new Row(1, "b")], restored);
    }

    [Fact]
    public async Task AFirstAttemptTheCellRefuses_RestoresNothing()
    {
        var restores = 0;
        await Assert.ThrowsAsync<RpcException>(() => OptimisticChange.RunAsync(new Row(0, "a"),
            () => Task.FromResult<Row?>(new Row(0, "a")),
            _ => throw Fail.Precondition("the cell refused"),
            _ =>
            {
                restores++;
                return Task.CompletedTask;
            }, "row"));
        Assert.Equal(0, restores);
    }
}
