// The end-to-end test classes share one libvirtd, one host's ports (consoles, migrations) and two cores: run in
// parallel, one class's live migration and another's guest-agent call starve each other past the command timeouts.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The end-to-end tests drive Linux hosts (libvirt, KVM, Unix file modes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
