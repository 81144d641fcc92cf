"""Admin-edited YAML config: typed model, validating loader, and hot reload."""
