"""Benchmarks of Parley's signalling relay, chat and file exchange, always as a ratio
against a bare baseline measured in the same run (see docs/benchmarks.md). Run with
`python -m bench`."""
