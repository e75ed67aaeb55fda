"""Benchmarks of issue 7, each a script with a size argument; `make bench` runs them all."""
