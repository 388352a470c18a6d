"""How good: evaluate a checkpoint (scores, contact sheets, FID), crop clips, sweep hint counts. Speed is ``bench/``."""
