"""Round-robin timing: every variant of a comparison runs once per
repetition, in a rotated order (so none always runs first), each after its
own untimed ``prepare``; the median and spread are taken over repetitions."""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Variant:
    name: str
    run: object                      # callable, timed
    prepare: object = None           # callable, untimed, before every run
    role: str = ""                   # "raw" / "sqlalchemy": the ratios' references
    note: str = ""
    loops: int = 1                   # run() does this many operations: time is per one


@dataclass
class Measured:
    group: str
    backend: str
    variant: str
    times: list = field(default_factory=list)
    role: str = ""
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> float:
        """(max - min) / median over the repetitions."""
        return (max(self.times) - min(self.times)) / self.median if self.median else 0.0


def round_robin(group: str, backend: str, variants, repeat: int, log=print) -> list[Measured]:
    results = {v.name: Measured(group, backend, v.name, role=v.role, note=v.note)
               for v in variants}
    for rep in range(repeat):
        shift = rep % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            if variant.prepare is not None:
                variant.prepare()
            gc.collect()
            start = time.perf_counter()
            variant.run()
            elapsed = (time.perf_counter() - start) / variant.loops
            results[variant.name].times.append(elapsed)
            log(f"  {backend:<10} {group:<8} {variant.name:<44} run {rep + 1}/{repeat}: "
                f"{elapsed:.3f} s")
    return list(results.values())


def once(run) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start
