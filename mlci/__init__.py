"""mlci: CI-native MLOps on DVC, MLflow, Great Expectations and BentoML."""

__version__ = "0.1.0"
__all__ = ["__version__"]
