"""Handwritten digits: the reference DVC pipeline (data, prepare, train, evaluate)."""
