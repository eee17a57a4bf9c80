"""Speed and tau_int measurements with in-run baselines; run each as `python -m benchmarks.NAME`
from the repository root (results in benchmarks/results/, summarised by benchmarks.report)."""
