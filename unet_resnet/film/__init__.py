"""Films: decoding and probing (``video.py``), encoding with the sound kept (``transcode.py``), steady colours over
time (``temporal.py``), and colorizing films one frame batch at a time (``colorize.py``)."""
