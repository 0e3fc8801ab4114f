namespace Nano.Server.Images;

/// <summary>Recognises a qcow2 file by its header magic ("QFI\xfb").</summary>
public static class Qcow2
{
    public static async Task<bool> IsQcow2Async(string path)
    {
        var head = new byte[4];
        await using var file = File.OpenRead(path);
        return await file.ReadAtLeastAsync(head, 4, throwOnEndOfStream: false) == 4 && head is [(byte)'Q', (byte)'F', (byte)'I', 0xfb];
    }
}
