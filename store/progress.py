"""A small progress bar for long operations (copy, dump, load, bulk loads,
large migrations), with no dependency.

    bar = Progress(quiet=quiet)                       # stderr unless told
    with bar.task("backlog.features", total=12_000) as task:
        for batch in batches:
            ...
            task.advance(len(batch))

    for row in bar.track(rows, "inventory.detections", total=n):
        ...

It draws only on a terminal: when the stream (``sys.stderr`` by default) is
not a TTY (a pipe, a file, CI logs) or ``quiet=True`` (the CLI's
``--quiet``), every method does nothing, so callers never branch on it.
On a terminal it redraws one line in place (carriage return), at most every
``interval`` seconds (0.1 by default: a tight loop costs a clock read per
call, not a write), plus once when a task finishes, which leaves the final
line on screen::

    backlog.features  [########------------]  40%  4,800/12,000 rows  9,650 rows/s

Without a total it shows the count and the rate. The line is cut to the
terminal's width. ``clock`` and ``width`` can be given (tests).
"""
from __future__ import annotations

import shutil
import sys
import time
from contextlib import contextmanager

__all__ = ["Progress"]

BAR_WIDTH = 20


class Progress:
    """A progress line on a terminal; silent elsewhere or when ``quiet``."""

    def __init__(self, stream=None, *, quiet: bool = False, interval: float = 0.1,
                 unit: str = "rows", clock=time.monotonic, width: int | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.interval = interval
        self.unit = unit
        self.clock = clock
        self.width = width
        self.enabled = not quiet and _isatty(self.stream)
        self.label = ""
        self.total = None
        self.done = 0
        self._started = 0.0
        self._last_draw = None
        self._drawn = 0

    # -- the API --------------------------------------------------------------------
    def start(self, label: str, total: int | None = None) -> None:
        """Begin a task (one table): ``label`` and the expected count, if known."""
        self.label, self.total, self.done = label, total, 0
        self._started = self.clock()
        self._last_draw = None
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        """``n`` more items done; redraws if ``interval`` has passed."""
        self.done += n
        if self.enabled:
            self._draw()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled and self._last_draw is not None:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
        self._last_draw = None
        self._drawn = 0

    @contextmanager
    def task(self, label: str, total: int | None = None):
        """``with bar.task(label, total) as task: task.advance(n)``."""
        self.start(label, total)
        try:
            yield self
        finally:
            self.finish()

    def track(self, iterable, label: str, total: int | None = None):
        """Yield from ``iterable``, advancing by one per item."""
        if total is None:
            try:
                total = len(iterable)
            except TypeError:
                total = None
        with self.task(label, total):
            for item in iterable:
                yield item
                self.advance()

    # -- drawing ----------------------------------------------------------------------
    def line(self) -> str:
        """The text of the current state (without control characters)."""
        elapsed = max(self.clock() - self._started, 1e-9)
        rate = self.done / elapsed if self.done else 0.0
        parts = [self.label]
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * BAR_WIDTH)
            parts.append(f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}]")
            parts.append(f"{fraction * 100:3.0f}%")
            parts.append(f"{self.done:,}/{self.total:,} {self.unit}")
        else:
            parts.append(f"{self.done:,} {self.unit}")
        parts.append(f"{rate:,.0f} {self.unit}/s")
        return "  ".join(parts)

    def _columns(self) -> int:
        if self.width is not None:
            return self.width
        return shutil.get_terminal_size(fallback=(80, 24)).columns

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if not force and self._last_draw is not None and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        text = self.line()[:max(self._columns() - 1, 10)]
        pad = " " * max(self._drawn - len(text), 0)      # wipe a longer previous line
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._drawn = len(text)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):       # no isatty, or a closed stream
        return False
