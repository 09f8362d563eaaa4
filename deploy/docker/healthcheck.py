"""Container health check: GET http://127.0.0.1:$EMOPIPE_WEB_PORT/health (stdlib only); exit 0 on HTTP 200.

Usage: ``python healthcheck.py [path]`` (default ``/health``; ``/ready`` for readiness).
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    """Exit status 0 when the worker answers 200 on the path, else 1."""
    path = argv[1] if len(argv) > 1 else "/health"
    port = int(os.environ.get("EMOPIPE_WEB_PORT", "6066"))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as resp:
            return 0 if resp.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
