"""The web page at ``/ui``: static files shipped in the package (``static/``) and the handlers serving them.

The page is plain HTML, CSS and ES modules: nothing is built at install time and nothing is fetched
from another origin. It is a client of the same HTTP API as every other client (``/api/*``,
``/metrics``), so it can do nothing a ``curl`` could not.
"""
