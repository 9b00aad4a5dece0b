"""Data validation (Great Expectations) and model gates."""
