"""Speed benchmarks of mlci, side by side with click and plain DVC: `python -m benchmarks`."""
