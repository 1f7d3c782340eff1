"""A progress line for long work in command-line tools: redrawn in place on a
terminal, a line per tenth of the work otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str, unit: str = "items", stream: TextIO | None = None):
        self.total = max(total, 0)
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.monotonic()
        self._tty = self.stream.isatty()
        self._last_draw = 0.0
        self._next_tenth = 1

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self._tty:
            if now - self._last_draw >= 0.1 or self.done >= self.total:
                self._last_draw = now
                self.stream.write("\r" + self._line())
                self.stream.flush()
        elif self.total and self.done * 10 >= self._next_tenth * self.total:
            self._next_tenth = self.done * 10 // self.total + 1
            self.stream.write(self._line() + "\n")

    def finish(self) -> float:
        elapsed = time.monotonic() - self.start
        if self._tty:
            self.stream.write("\r" + self._line() + "\n")
        self.stream.flush()
        return elapsed

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            width = 30
            filled = min(width, int(width * self.done / self.total))
            bar = "#" * filled + "." * (width - filled)
            eta = (self.total - self.done) / rate if rate else 0
            return (f"{self.label} [{bar}] {self.done}/{self.total} {self.unit} "
                    f"({100 * self.done / self.total:.0f}%, {rate:,.0f}/s, {eta:.0f} s left)")
        return f"{self.label}: {self.done} {self.unit} ({rate:,.0f}/s)"
