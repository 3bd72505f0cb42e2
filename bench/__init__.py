"""erpsync benchmarks: sync speed, scale and memory against the measured physical limit (``python -m bench.run``)."""
