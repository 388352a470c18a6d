"""Runs over many photos: the plan (inputs -> outputs), photo lists, the decode/model/encode pipeline, sharing the
work between torchrun ranks, the manifest, and the runner that ``infer.py`` calls once."""
