"""Layer 5: the one training loop (:mod:`rnnkit.training.trainer`) that trains any task's objective
(:mod:`rnnkit.training.objective`), with its devices, several processes and run directories."""

from rnnkit.training.trainer import FitResult, TrainConfig, seed_everything, train_loop, train_step

__all__ = ["FitResult", "TrainConfig", "seed_everything", "train_loop", "train_step"]
