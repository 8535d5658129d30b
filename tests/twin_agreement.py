"""What "the numpy twin agrees with the scalar evaluator" means, in one place for every test_vectorized_*.py.

Values (scores, probabilities, distances) agree within a tolerance; everything the evaluators decide with
those values (decisions, reason codes, segment ids, rank orders, refused rows) agrees exactly, which the tests
assert with ``==`` and not through this module.

Why a tolerance for values: numpy's ``exp``/``log1p`` may use SIMD implementations that are an ulp or a few
off libm's (on an AVX-512 machine about 5% of inputs), and the segments' distance is numpy's
``sqrt(sum(d**2))`` against ``math.dist``. An ulp is ~2.2e-16 relative; after a sum the difference is relative
to the size of the parts summed (they may cancel), not to the result. 1e-12 of that size leaves three orders
of magnitude above what a few ulps carried through a few hundred terms can reach, and is far below anything
a reviewer reads in a report. The absolute 1e-15 covers results that are (nearly) zero with parts that are too.
"""
from __future__ import annotations

import contextlib
import math
from types import ModuleType
from typing import Any, Iterator

import numpy as np
import pytest

# Values: |twin - scalar| <= VALUE_REL * max(|scalar|, scale) + VALUE_ABS, where ``scale`` is the size of what
# was summed to get the value (see the module docstring for why these numbers).
VALUE_REL = 1e-12
VALUE_ABS = 1e-15


def values_agree(got: float, expected: float, scale: float = 0.0) -> bool:
    """The twin's value is the scalar's within the stated tolerance (NaN matches NaN, an infinity itself)."""
    got, expected = float(got), float(expected)
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    if math.isinf(expected) or math.isinf(got):
        return got == expected
    return abs(got - expected) <= VALUE_REL * max(abs(expected), abs(scale)) + VALUE_ABS


def assert_values_agree(got: float, expected: float, scale: float = 0.0, context: Any = None) -> None:
    assert values_agree(got, expected, scale), (
        f"twin {float(got)!r} vs scalar {float(expected)!r} (difference {float(got) - float(expected):.3g}, "
        f"allowed {VALUE_REL:g} x max(|value|, {abs(scale):.3g}) + {VALUE_ABS:g}); {context!r}")


def shift_ulps(values: np.ndarray, ulps: int) -> np.ndarray:
    """``values`` moved by ``ulps`` units in the last place (negative: down): a SIMD-like libm stand-in."""
    out = values
    for _ in range(abs(ulps)):
        out = np.nextafter(out, np.inf if ulps > 0 else -np.inf)
    return out


def off_by_ulps(fn: Any, ulps: int, every: int = 1) -> Any:
    """``fn`` whose results are ``ulps`` off on every ``every``-th element (where a real SIMD libm differs)."""

    def wrapped(x: Any) -> Any:
        result = np.asarray(fn(x))
        if result.ndim == 0:
            return shift_ulps(result, ulps)
        mask = np.zeros(result.shape, dtype=bool)
        mask[::every] = True
        return np.where(mask, shift_ulps(result, ulps), result)

    return wrapped


@contextlib.contextmanager
def simd_like(module: ModuleType, ulps: int, every: int = 1) -> Iterator[None]:
    """Within the block, the twin ``module``'s exp/log1p/sqrt are ``ulps`` off numpy's on every ``every``-th
    element: a CPU whose vector math library is not libm, simulated on any CPU."""
    with pytest.MonkeyPatch.context() as patch:
        if ulps:
            for name in ("_exp", "_log1p", "_sqrt"):
                if hasattr(module, name):
                    patch.setattr(module, name, off_by_ulps(getattr(np, name[1:]), ulps, every))
        yield
