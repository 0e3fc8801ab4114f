using System.Text.Json;

// nanoctl runs where its server does: on Linux (its session file relies on Unix file modes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Nano.Ctl;

/// <summary>
/// What `nanoctl login` keeps between runs: the server, the CA that signs its certificate, the session and who holds it.
/// One file, readable by its owner only (0600), at $NANOCTL_CONFIG or ~/.config/nanoctl/session.json.
/// </summary>
public sealed record SavedSession(string Server, string CaFile, string Session, string User, int RestPort)
{
    public static string PathOf() =>
        Environment.GetEnvironmentVariable("NANOCTL_CONFIG") is { Length: > 0 } path
            ? path
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "nanoctl", "session.json");

    public static SavedSession? Load()
    {
        var path = PathOf();
        return File.Exists(path) ? JsonSerializer.Deserialize<SavedSession>(File.ReadAllText(path)) : null;
    }

    /// <summary>Writes the file created 0600 from the start (never readable by others, not even for a moment).</summary>
    public void Save()
    {
        var path = PathOf();
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        using (var file = new FileStream(path + ".new", options))
            JsonSerializer.Serialize(file, this);
        File.SetUnixFileMode(path + ".new", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(path + ".new", path, overwrite: true);
    }

    public static void Forget()
    {
        if (File.Exists(PathOf()))
            File.Delete(PathOf());
    }
}
