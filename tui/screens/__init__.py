"""The console's screens: login, main, and the modal pickers (pause, transfer, help)."""
