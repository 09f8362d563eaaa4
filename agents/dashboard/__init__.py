"""The live dashboard: an ASGI app (``app.py``), its pure parts (``views.py``, ``hub.py``), the page (``static/``)."""
