"""The ``corral`` command line: a pure HTTP client of the server, plus ``serve``."""
