"""Evaluation: a model's execution accuracy on tasks (``accuracy``), used by ``sqlbench
eval`` and by training's held-out check alike."""
