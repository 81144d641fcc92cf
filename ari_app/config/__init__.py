"""Admin-edited YAML config: typed model, validating loader, and hot reload."""

from ari_app.config.loader import load_config, load_config_text, summary
from ari_app.config.problems import ConfigError, Problem

__all__ = ["ConfigError", "Problem", "load_config", "load_config_text", "summary"]
