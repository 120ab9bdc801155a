"""Benchmarks behind ``vg4d bench <name>``; each prints a table and saves JSON."""
