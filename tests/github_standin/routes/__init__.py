"""The stand-in's REST operations by API area; ``table`` lists them all with their paths."""
