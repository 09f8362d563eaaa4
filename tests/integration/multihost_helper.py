"""Runs inside a test host's network namespace for tests/integration/test_multihost.py.

The test process stays in the root namespace, which has no route to the test hosts' private network, so what
must talk to the broker or Redis runs here (``ip netns exec <host> python -m tests.integration.multihost_helper``):

- ``produce PREFIX PARTITIONS SUBJECT:MINUTES:START:STOP ...``: the real Stress-Predict recordings of the
  subjects, first MINUTES minutes, chunks START..STOP of their event-time merge, published with ChunkProducer;
- ``windows PREFIX SUBJECT...``: prints JSON {subject: [window_end_ns, ...]} of the events in Redis.

Settings (broker, Redis) come from EMOPIPE_* variables as everywhere.
"""

from __future__ import annotations

import json
import sys

from agents.client import EventClient
from agents.producer import ChunkProducer
from deploy.settings import Settings


def merged_chunks(data_dir, subjects: list[str], minutes: float) -> list:
    """The subjects' chunks merged by event time (the order a live gateway would send them in)."""
    from tests.integration.test_e2e import _chunks

    chunks = [c for s in subjects for c in _chunks(data_dir, s, minutes=minutes)]
    return sorted(chunks, key=lambda c: (c.t0_ns, c.subject_id))


def main(argv: list[str]) -> int:
    """Entry point; see the module docstring."""
    cmd, prefix = argv[0], argv[1]
    if cmd == "produce":
        partitions, minutes, start, stop = int(argv[2]), float(argv[3]), int(argv[4]), int(argv[5])
        subjects = argv[6:]
        settings = Settings(topic_prefix=prefix, app_id=prefix, partitions=partitions)
        chunks = merged_chunks(settings.data_dir, subjects, minutes)[start:stop]
        with ChunkProducer(settings.kafka_bootstrap, settings=settings) as producer:
            for c in chunks:
                producer.send(c)
        print(json.dumps({"sent": len(chunks)}))
        return 0
    if cmd == "windows":
        settings = Settings(topic_prefix=prefix, app_id=prefix)
        client = EventClient.from_settings(settings)
        out = {s: [e.window_end_ns for e in client.history(s)] for s in argv[2:]}
        out["_total"] = client._redis.xlen(f"{prefix}:events")
        client.close()
        print(json.dumps(out))
        return 0
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
