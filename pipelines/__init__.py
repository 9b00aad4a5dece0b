"""Reference ML projects that mlci runs on itself."""
