"""The main screen's panels: state bar, queue board, call panel, script panel."""
