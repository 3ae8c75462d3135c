"""An example third-party corral plugin: a backend that echoes the prompt back, and an observer."""
