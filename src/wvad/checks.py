"""What a setting may be: one rule object per kind of value, one error style.

Every parameter check in wvad goes through a `Rule`: `Config`'s fields declare theirs
(`wvad.config.setting`), and the estimator, the split, the fused score, the command line
and the benchmark runner check their own arguments with the same classes. A rule normalises
a good value (an int stays an int, a list of widths becomes a tuple) and refuses a bad one
with `ValueError("NAME must be WHAT; got VALUE")`; `parse` reads the same value from
command-line text.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Columns",
    "Flag",
    "Int",
    "Names",
    "OneOf",
    "Optional",
    "Pair",
    "Real",
    "Rule",
    "Subset",
    "Widths",
    "is_int",
    "is_real",
]


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bounded(
    what: str, low: float | None, high: float | None, open_low: bool, open_high: bool
) -> str:
    """'an int >= 1', 'a number in (0, 1]', ...: `what` with its bounds."""

    def shown(x: float) -> str:
        return f"{x:g}" if isinstance(x, float) else str(x)

    if low is not None and high is not None:
        left, right = "(" if open_low else "[", ")" if open_high else "]"
        return f"{what} in {left}{shown(low)}, {shown(high)}{right}"
    if low is not None:
        return f"{what} {'>' if open_low else '>='} {shown(low)}"
    if high is not None:
        return f"{what} {'<' if open_high else '<='} {shown(high)}"
    return what


class Rule:
    """A kind of value: `check` normalises or refuses, `describe` says what is allowed."""

    def describe(self) -> str:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def normalise(self, value: Any) -> Any:
        return value

    def check(self, name: str, value: Any) -> Any:
        """`value` normalised, or a ValueError naming `name`, the rule and the value."""
        if not self.accepts(value):
            raise ValueError(f"{name} must be {self.describe()}; got {value!r}")
        return self.normalise(value)

    def parse(self, text: str) -> Any:
        """The value written as command-line `text` (checked by the caller)."""
        return text


@dataclass(frozen=True)
class Int(Rule):
    """An int in [low, high] (no bool)."""

    low: int | None = None
    high: int | None = None

    def describe(self) -> str:
        return _bounded("an int", self.low, self.high, open_low=False, open_high=False)

    def accepts(self, value: Any) -> bool:
        low_ok = self.low is None or (is_int(value) and value >= self.low)
        high_ok = self.high is None or (is_int(value) and value <= self.high)
        return is_int(value) and low_ok and high_ok

    def normalise(self, value: Any) -> int:
        return int(value)

    def parse(self, text: str) -> Any:
        try:
            return int(text)
        except ValueError:
            return text


@dataclass(frozen=True)
class Real(Rule):
    """A number between low and high, each end open or closed (None: unbounded)."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def describe(self) -> str:
        return _bounded("a number", self.low, self.high, self.open_low, self.open_high)

    def accepts(self, value: Any) -> bool:
        if not is_real(value) or np.isnan(value):
            return False
        if self.low is not None and not (value > self.low if self.open_low else value >= self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)

    def normalise(self, value: Any) -> float:
        return float(value)

    def parse(self, text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            return text


@dataclass(frozen=True)
class OneOf(Rule):
    """One of a fixed set of values."""

    choices: tuple[Any, ...]

    def describe(self) -> str:
        if len(self.choices) == 1:
            return repr(self.choices[0])
        return f"one of {', '.join(map(repr, self.choices))}"

    def accepts(self, value: Any) -> bool:
        try:
            return value in self.choices
        except TypeError:  # an unhashable value compared with strings
            return False


@dataclass(frozen=True)
class Flag(Rule):
    """True or False (numpy's bool too)."""

    def describe(self) -> str:
        return "True or False"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def normalise(self, value: Any) -> bool:
        return bool(value)

    def parse(self, text: str) -> Any:
        """true/false, yes/no, on/off or 1/0 in any case; other text is left to refuse."""
        words = {"true": True, "yes": True, "on": True, "1": True}
        words |= {"false": False, "no": False, "off": False, "0": False}
        return words.get(text.strip().lower(), text)


@dataclass(frozen=True)
class Widths(Rule):
    """A sequence of layer widths, ints >= 1 (normalised to a tuple)."""

    def describe(self) -> str:
        return "a sequence of ints >= 1"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (list, tuple)) and all(is_int(d) and d >= 1 for d in value)

    def normalise(self, value: Any) -> tuple[int, ...]:
        return tuple(int(d) for d in value)


@dataclass(frozen=True)
class Pair(Rule):
    """A pair (low, high) of numbers with low < high (normalised to a tuple)."""

    def describe(self) -> str:
        return "a pair (low, high) of numbers with low < high"

    def accepts(self, value: Any) -> bool:
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(map(is_real, value))
        return ok and value[0] < value[1]

    def normalise(self, value: Any) -> tuple[float, float]:
        return (float(value[0]), float(value[1]))


@dataclass(frozen=True)
class Subset(Rule):
    """A subset of `choices` (normalised to a tuple in `choices`' order); `empty` says
    whether none at all is allowed."""

    choices: tuple[str, ...]
    empty: bool = True

    def describe(self) -> str:
        what = "a subset" if self.empty else "a non-empty subset"
        return f"{what} of {self.choices}"

    def accepts(self, value: Any) -> bool:
        ok = isinstance(value, (list, tuple)) and all(v in self.choices for v in value)
        return ok and (self.empty or bool(value))

    def normalise(self, value: Sequence[str]) -> tuple[str, ...]:
        return tuple(c for c in self.choices if c in value)


@dataclass(frozen=True)
class Names(Rule):
    """A sequence of distinct names (normalised to a tuple, in the order given)."""

    def describe(self) -> str:
        return "a sequence of distinct names"

    def accepts(self, value: Any) -> bool:
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        return ok and len(set(value)) == len(value)

    def normalise(self, value: Sequence[str]) -> tuple[str, ...]:
        return tuple(value)


class Columns(Rule):
    """A sequence of distinct column references: names (str) or positions (int >= 0),
    normalised to a tuple in the order given."""

    def describe(self) -> str:
        return "a sequence of distinct column names or positions"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            return False
        ok = all(isinstance(v, str) or (is_int(v) and v >= 0) for v in value)
        return ok and len(set(value)) == len(value)

    def normalise(self, value: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v if isinstance(v, str) else int(v) for v in np.asarray(value, dtype=object))


@dataclass(frozen=True)
class Optional(Rule):
    """None, or what `rule` allows."""

    rule: Rule

    def describe(self) -> str:
        return f"None or {self.rule.describe()}"

    def accepts(self, value: Any) -> bool:
        return value is None or self.rule.accepts(value)

    def normalise(self, value: Any) -> Any:
        return None if value is None else self.rule.normalise(value)

    def parse(self, text: str) -> Any:
        return None if text.lower() == "none" else self.rule.parse(text)


@dataclass(frozen=True)
class Either(Rule):
    """What `first` allows, or else what `second` allows."""

    first: Rule
    second: Rule

    def describe(self) -> str:
        return f"{self.first.describe()} or {self.second.describe()}"

    def accepts(self, value: Any) -> bool:
        return self.first.accepts(value) or self.second.accepts(value)

    def normalise(self, value: Any) -> Any:
        rule = self.first if self.first.accepts(value) else self.second
        return rule.normalise(value)

    def parse(self, text: str) -> Any:
        parsed = self.first.parse(text)
        return parsed if self.first.accepts(parsed) else self.second.parse(text)
