"""Fine-tuning: the tiny offline student, data shaping, SFT and GRPO trainers, run-dir callbacks."""
