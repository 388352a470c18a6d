"""Colour hints at inference: parsing points (``points.py``: the JSON format, the hint map) and spreading them
over the photo (``spread.py``). Training-time hint sampling lives in ``data/hints.py``."""
