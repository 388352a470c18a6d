"""Trained model in, colour photos out: the colorizer engine and its full-resolution merge, restoration, previews.

Neighbouring rooms: ``hints/`` (colour points and their spreading), ``batch/`` (runs over many photos),
``film/`` (videos), ``export/`` (TorchScript / ONNX). docs/layout.md maps the old module paths to the new ones.
"""
