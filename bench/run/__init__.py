"""The grid runner: plan, cache, execute and record a benchmark run."""
