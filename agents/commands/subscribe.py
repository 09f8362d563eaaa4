"""``emopipe subscribe``: print emotion events from Redis, from history and live."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from deploy.settings import Settings

HELP = "print emotion events live and from history (Redis)"

_REL = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since_ms(text: str, *, now_ms: int) -> int:
    """``--since``: ``all``, a relative age (``90s``, ``10m``, ``2h``), epoch ms, or an ISO-8601 time."""
    text = text.strip()
    if text == "all":
        return 0
    if m := _REL.match(text):
        return now_ms - round(float(m.group(1)) * _UNIT_S[m.group(2)] * 1000)
    if text.isdigit():
        return int(text)
    from datetime import datetime

    try:
        return round(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        msg = f"--since {text!r}: expected 'all', an age like 10m, epoch ms or an ISO time"
        raise SystemExit(msg) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``emopipe subscribe``."""
    p.add_argument("--subject", default=None, help="only this subject (default: all subjects)")
    p.add_argument("--since", default=None, help="also print history: 'all', an age (10m, 2h), epoch ms or ISO time")
    p.add_argument("--json", action="store_true", help="print each event as one JSON line")
    p.add_argument("--idle-exit-s", type=float, default=None, help="exit after this many seconds without events")
    p.add_argument("--latest", action="store_true", help="print the latest event per subject and exit")
    p.add_argument("--kind", choices=("fused", "head", "all"), default="fused",
                   help="fused events (one per window, default), every head's own events, or both")  # fmt: skip


def format_event(ev: object) -> str:
    """One human-readable line per event; every text from the event is escaped (no terminal control)."""
    from pipeline.events import EmotionEvent
    from pipeline.text import escape_text as esc

    assert isinstance(ev, EmotionEvent)
    end = time.strftime("%H:%M:%S", time.gmtime(ev.window_end_ns / 1e9))
    mods = ",".join(
        f"{esc(m, limit=32)}:{s.quality:.2f}" if s.present else f"{esc(m, limit=32)}:-"
        for m, s in ev.modalities.items()
    )
    if ev.kind == "fused" and ev.heads:
        av = f"a={ev.arousal:+.2f} v={ev.valence:+.2f}" if ev.arousal is not None and ev.valence is not None else ""
        heads = " ".join(f"{esc(h, limit=32)}:{esc(r.label, limit=32)}({r.weight:.2f})" for h, r in ev.heads.items())
        return f"{esc(ev.subject_id, limit=64):>6} {end}Z {esc(ev.label, limit=32):<22} {av}  heads {heads}  [{mods}]"
    probs = " ".join(f"{esc(k, limit=32)}={v:.2f}" for k, v in ev.probabilities.items())
    model = f"{esc(ev.head or ev.model_name, limit=64)}@{esc(ev.model_version, limit=32)}"
    return f"{esc(ev.subject_id, limit=64):>6} {end}Z {esc(ev.label, limit=32):<14} {probs}  [{mods}] {model}"


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print events until interrupted (or idle for --idle-exit-s)."""
    from agents.client import EventClient
    from pipeline.events import event_to_dict

    client = EventClient.from_settings(settings)
    show = (lambda ev: json.dumps(event_to_dict(ev))) if args.json else format_event
    try:
        if args.latest:
            for subject in [args.subject] if args.subject else client.subjects():
                ev = client.latest(subject)
                if ev is not None:
                    print(show(ev))
            return 0
        since_ms = None if args.since is None else parse_since_ms(args.since, now_ms=time.time_ns() // 1_000_000)
        for ev in client.follow(args.subject, since_ms=since_ms, idle_timeout_s=args.idle_exit_s, kind=args.kind):
            print(show(ev), flush=True)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        sys.stderr.close()
    finally:
        client.close()
    return 0
