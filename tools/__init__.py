"""Developer tools run by hand or by tests (not installed with the package)."""
