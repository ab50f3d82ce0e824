"""sqlbench engine: distill, validate, train, evaluate, chat and serve text-to-SQL models.

Nothing in this package imports Textual or the ``screens`` package, and nothing heavy
(torch, transformers, trl, peft, datasets, vllm, ray) is imported at module import time.
"""

__version__ = "0.1.0"
