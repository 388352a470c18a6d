"""The local web app: ``unet-resnet app`` serves one page and an HTTP API over a loaded colorizer.

``server.py`` builds the FastAPI application (routes, limits, errors), ``service.py`` holds what a request works
on (upload checks, the shared model, the photos the page is editing), ``static/`` is the page (no build step,
nothing loaded from the internet). Needs the ``app`` extra: ``pip install -e ".[app]"``.
"""
