"""A plugin whose import fails, as one with a missing dependency does."""

raise ImportError("No module named 'a_dependency_nobody_installed'")
