"""FastAGI adapter: Switchboard's own FastAGI server for ``agi_scripts/``."""
