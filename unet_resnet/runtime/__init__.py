"""Where the code runs: devices, numeric precision, torchrun process groups."""
