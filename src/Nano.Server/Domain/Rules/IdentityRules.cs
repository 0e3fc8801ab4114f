namespace Nano.Server.Domain.Rules;

/// <summary>Rules for user, group and role names, passwords and free text (api-decisions.md 3.4).</summary>
public static class IdentityRules
{
    public const int MaxNameLength = InputRules.MaxNameLength;
    public const int MaxTextLength = 256;
    public const int MaxPasswordLength = 128;

    /// <summary>Reserved: GET /user_groups/members/ is the documented member list (A6).</summary>
    public const string ReservedGroupName = "members";

    /// <summary>
    /// The core-side name rule (<see cref="InputRules.Name"/>). Upstream also allows '.', but guest owners
    /// and groups cannot contain it, so a user or group with a dot could never own a guest: it is rejected here.
    /// </summary>
    public static string Name(string kind, string? value) => InputRules.Name(kind, value);

    public static string Text(string field, string? value, int maxLength = MaxTextLength)
    {
        value ??= "";
        if (value.Length > maxLength)
            throw Fail.Invalid($"{field} is longer than {maxLength} characters");
        if (value.Any(char.IsControl))
            throw Fail.Invalid($"{field} must not contain control characters");
        return value;
    }

    /// <summary>At least 8 characters with a digit, a lowercase and an uppercase ASCII letter.</summary>
    public static string Password(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length < 8)
            throw Fail.Invalid("password must have at least 8 characters");
        if (value.Length > MaxPasswordLength)
            throw Fail.Invalid($"password is longer than {MaxPasswordLength} characters");
        if (!value.Any(char.IsAsciiDigit) || !value.Any(char.IsAsciiLetterLower) || !value.Any(char.IsAsciiLetterUpper))
            throw Fail.Invalid("password must contain a digit, a lowercase and an uppercase letter");
        return value;
    }

    /// <summary>Menu tags: each one of <see cref="AccessRules.MenuTags"/> (the portal's areas); repeats are dropped.</summary>
    public static string[] Menu(IEnumerable<string> tags, bool required)
    {
        var menu = tags.Select(t => Name("menu", t)).Distinct(StringComparer.Ordinal).ToArray();
        if (menu.FirstOrDefault(t => !AccessRules.MenuTags.Contains(t)) is { } unknown)
            throw Fail.Invalid($"unknown menu '{unknown}': a menu is one of {string.Join(", ", AccessRules.MenuTags)}");
        if (required && menu.Length == 0)
            throw Fail.Invalid("at least one menu is required");
        return menu;
    }
}
