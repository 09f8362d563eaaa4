"""The framework's own ceiling: a bare Faust pass-through agent (decode each raw chunk, send it on).

Same Faust options as the emopipe worker (:func:`agents.app.faust_options`), no tables, no state:
what one worker process costs per message for consume + decode/validate + produce. Run by
``bench/realtime.py`` as ``python bench/passthrough.py worker --without-web -l warning`` with the
``EMOPIPE_*`` settings of the level it measures; output goes to ``<prefix>.passthrough``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import faust  # noqa: E402

from agents.app import faust_options  # noqa: E402
from deploy.settings import Settings  # noqa: E402
from pipeline.codec import decode_chunk, encode_binary  # noqa: E402

E4 = ("bvp", "eda", "temp", "acc")


def make_app(settings: Settings) -> faust.App:
    """The pass-through app: every ``raw.<e4 modality>`` chunk decoded, validated, re-encoded, sent."""
    opts = faust_options(settings)
    opts["web_enabled"] = False
    app = faust.App(f"{settings.app_id}", **opts)
    raw = app.topic(*(settings.raw_topic(m) for m in E4), key_type=bytes, value_type=bytes)
    out = app.topic(settings.topic("passthrough"), key_type=bytes, value_type=bytes, partitions=settings.partitions)

    @app.agent(raw, name="passthrough")
    async def passthrough(stream: Any) -> None:
        async for event in stream.events():
            chunk = decode_chunk(event.value, max_samples=settings.max_chunk_samples)
            await out.send(key=event.key, value=encode_binary(chunk))

    return app


app = make_app(Settings())  # type: ignore[call-arg]

if __name__ == "__main__":
    app.main()
