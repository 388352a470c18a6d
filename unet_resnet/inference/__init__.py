"""Trained model in, colour photos out: the colorizer engine, full-resolution merge, restoration merge, export."""
