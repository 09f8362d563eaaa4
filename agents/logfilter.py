"""Rate-limited logging of repeated connection errors (a broker outage must not flood the log).

:class:`RepeatFilter` collapses repeated records from the Kafka client libraries (``aiokafka``,
``kafka``, ``faust.transport``, ...) at WARNING and above: the first record of a kind passes; the
same kind again within ``interval_s`` is counted and dropped; the first one after the interval
passes with ``(repeated N times in the last T s)`` appended. A kind is (logger, level, message
template) with the numbers of the message (hosts, ports, node ids, offsets) ignored, so "Unable
connect to node 1" and "to node 2" are one kind.

:class:`DemoteFilter` turns the harmless start-up errors (``GroupCoordinatorNotAvailableError``
while the broker creates ``__consumer_offsets``) from ERROR into INFO.

:func:`install_log_filters` puts both on every handler of the root logger (call it after the
logging configuration, e.g. from the worker's ``on_setup_root_logger``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

#: loggers whose repeated warnings/errors are collapsed (prefixes)
NOISY_LOGGERS: tuple[str, ...] = ("aiokafka", "kafka", "faust.transport", "faust.tables", "mode", "faust.app")
#: seconds between two records of one kind
DEFAULT_INTERVAL_S = 10.0
#: messages demoted from ERROR to INFO (substrings of the formatted message)
HARMLESS_ERRORS: tuple[str, ...] = ("GroupCoordinatorNotAvailableError", "CoordinatorNotAvailable")

_NUMBERS = re.compile(r"\d+")


def _kind_of(record: logging.LogRecord) -> tuple[str, int, str]:
    try:
        text = record.getMessage()
    except Exception:  # a bad format string: fall back to the template
        text = str(record.msg)
    return record.name, record.levelno, _NUMBERS.sub("#", text)[:300]


class RepeatFilter(logging.Filter):
    """Collapse repeated WARNING+ records of the noisy loggers to one line per ``interval_s``."""

    def __init__(
        self,
        interval_s: float = DEFAULT_INTERVAL_S,
        *,
        prefixes: Iterable[str] = NOISY_LOGGERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.prefixes = tuple(prefixes)
        self.clock = clock
        self._lock = threading.Lock()
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}  # kind -> (time passed, dropped since)

    def _noisy(self, name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in self.prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit ``record`` (possibly with a repeat count appended), False to drop it."""
        if record.levelno < logging.WARNING or not self._noisy(record.name):
            return True
        kind = _kind_of(record)
        now = self.clock()
        with self._lock:
            passed = self._last.get(kind)
            if passed is not None and now - passed[0] < self.interval_s:
                self._last[kind] = (passed[0], passed[1] + 1)
                return False
            self._last[kind] = (now, 0)
            if len(self._last) > 1000:  # bounded memory: forget the oldest kinds
                for k in sorted(self._last, key=lambda k: self._last[k][0])[:500]:
                    del self._last[k]
        if passed is not None and passed[1] > 0:
            record.msg = f"{record.getMessage()} (repeated {passed[1]} times in the last {now - passed[0]:.0f} s)"
            record.args = ()
        return True


class DemoteFilter(logging.Filter):
    """Log the known-harmless start-up errors at INFO instead of ERROR."""

    def __init__(self, substrings: Iterable[str] = HARMLESS_ERRORS) -> None:
        super().__init__()
        self.substrings = tuple(substrings)

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True; lowers the level of matching records."""
        if record.levelno >= logging.ERROR:
            try:
                text = record.getMessage()
            except Exception:
                return True
            if record.exc_info and record.exc_info[0] is not None:
                text += " " + record.exc_info[0].__name__
            if any(s in text for s in self.substrings):
                record.levelno, record.levelname = logging.INFO, "INFO"
                record.exc_info, record.exc_text = None, None
        return True


def install_log_filters(interval_s: float = DEFAULT_INTERVAL_S, root: logging.Logger | None = None) -> None:
    """Add a :class:`DemoteFilter` and a :class:`RepeatFilter` to every handler of the root logger (once)."""
    root = root or logging.getLogger()
    for handler in root.handlers:
        if any(isinstance(f, RepeatFilter) for f in handler.filters):
            continue
        handler.addFilter(DemoteFilter())
        handler.addFilter(RepeatFilter(interval_s))
