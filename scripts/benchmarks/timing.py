"""Interleaved timing: every variant runs in each round, in a shuffled order, so drift hits all alike."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """Operations per second of one variant: the median over rounds, and the spread."""

    name: str
    ops_per_second: float
    per_op_us: float
    rounds: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "ops_per_second": round(self.ops_per_second, 1),
            "per_op_us": round(self.per_op_us, 2),
            "rounds_ops_per_second": [round(r, 1) for r in self.rounds],
        }


def interleave(
    variants: Mapping[str, Callable[[], object]],
    ops: int,
    rounds: int,
    warmup: int = 50,
    clock: Callable[[], float] = time.perf_counter,
    scope: Callable[[str], AbstractContextManager[object]] = lambda name: nullcontext(),
) -> dict[str, Result]:
    """Run each variant ``ops`` times per round for ``rounds`` rounds; the median round decides.

    ``clock`` is wall time by default; ``time.thread_time`` counts only the CPU this thread used, which
    time spent descheduled on a busy machine does not inflate. ``scope(name)`` is entered around each
    variant's warm-up and each of its rounds, outside the clock (the components a variant runs on)."""
    for name, run in variants.items():
        with scope(name):
            for _ in range(warmup):
                run()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            run = variants[name]
            with scope(name):
                started = clock()
                for _ in range(ops):
                    run()
                elapsed = clock() - started
            samples[name].append(ops / elapsed)
    results = {}
    for name, values in samples.items():
        median = statistics.median(values)
        results[name] = Result(name, median, 1e6 / median, tuple(values))
    return results


def ratio(results: Mapping[str, Result], name: str, baseline: str) -> float:
    """Throughput of ``name`` over ``baseline`` (1.0 = as fast)."""
    return results[name].ops_per_second / results[baseline].ops_per_second


def round_ratios(results: Mapping[str, Result], name: str, baseline: str) -> dict[str, float]:
    """Throughput of ``name`` over ``baseline`` round by round (the two ran side by side in each round):
    the median, quartiles and extremes, steadier than a ratio of medians when the machine is shared."""
    pairs = sorted(a / b for a, b in zip(results[name].rounds, results[baseline].rounds))
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else [pairs[0]] * 3
    summary = {"median": statistics.median(pairs), "p25": quartiles[0], "p75": quartiles[2], "min": pairs[0], "max": pairs[-1]}
    return {key: round(value, 3) for key, value in summary.items()}


def round_overheads_us(results: Mapping[str, Result], name: str, baseline: str) -> dict[str, float]:
    """Microseconds per operation that ``name`` adds to ``baseline``, round by round (side by side in each):
    the median, quartiles and extremes."""
    pairs = sorted(1e6 / a - 1e6 / b for a, b in zip(results[name].rounds, results[baseline].rounds))
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else [pairs[0]] * 3
    summary = {"median": statistics.median(pairs), "p25": quartiles[0], "p75": quartiles[2], "min": pairs[0], "max": pairs[-1]}
    return {key: round(value, 1) for key, value in summary.items()}
