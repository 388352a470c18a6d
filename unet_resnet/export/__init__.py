"""Exporting a trained generator for deployment: TorchScript and ONNX (``formats.py``)."""
