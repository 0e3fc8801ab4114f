// The end-to-end test classes share one libvirtd, one host's ports (consoles, migrations) and two cores: run in
// parallel, one class's live migration and another's guest-agent call starve each other past the command timeouts.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
