"""What every producer (local or Ray) shares: the provider it drives names it."""

from __future__ import annotations

from sqlbench.distill.options import DistillOptions


class ProviderProducer:
    def __init__(self, opts: DistillOptions):
        from sqlbench.providers import build_provider

        self.opts = opts
        self.provider = build_provider(opts.provider)  # checks the options before any work starts

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def model(self) -> str:
        return self.provider.model
