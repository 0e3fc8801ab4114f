using Nano.Cell;

namespace Nano.Cell.Tests;

/// <summary>Issue 16: an agent's list of server replicas (--server A,B,C) is checked address by address before it dials any.</summary>
public sealed class ServerListTests
{
    [Theory]
    [InlineData("https://10.0.0.1:5871,https://10.0.0.2:5871", null)]
    [InlineData(" https://10.0.0.1:5871 , https://10.0.0.2:5871 ,", null)]
    [InlineData("https://10.0.0.1:5871,ftp://10.0.0.2", "--server must be an http:// or https:// URL, not 'ftp://10.0.0.2'")]
    [InlineData("https://10.0.0.1:5871,not a url", "--server must be an http:// or https:// URL, not 'not a url'")]
    [InlineData("https://10.0.0.1:5871,http://10.0.0.2:5871", "refusing to dial http://10.0.0.2:5871 in clear")]
    [InlineData(",,", "--server must name the server's gRPC URL")]
    public void EveryAddressOfTheList_IsChecked(string servers, string? refusal)
    {
        var options = new AgentOptions { Server = servers };
        if (refusal is null)
        {
            Assert.Null(ServerChannels.Refusal(options));
            Assert.Equal(["https://10.0.0.1:5871", "https://10.0.0.2:5871"], options.Servers);
        }
        else
            Assert.StartsWith(refusal, ServerChannels.Refusal(options));
    }
}
