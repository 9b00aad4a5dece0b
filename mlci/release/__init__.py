"""Model releases: registry tags, MLflow registration, BentoML bento, smoke test, GitHub Release."""
