namespace Nano.Libvirt;

/// <summary>The remote console of a domain, on a port libvirt picks (from 5900).</summary>
/// <param name="Protocol">"vnc" or "spice".</param>
/// <param name="Password">Console password.</param>
/// <param name="Listen">Address the console listens on.</param>
public sealed record DomainConsole(string Protocol, string Password, string Listen);
