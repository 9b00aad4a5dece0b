"""The report: a model of the diff between two revisions, and its renderers."""
