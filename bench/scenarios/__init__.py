"""One module per scenario; each has ``measure(site, n, **options) -> dict`` run in a child process of its own."""
