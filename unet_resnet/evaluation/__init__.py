"""How good and how fast: evaluate (scores, contact sheets, FID) and bench (speed, memory, start-up)."""
