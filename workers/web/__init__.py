"""The web page and JSON API of `mediacourier web` (see app.py)."""
