"""Errors raised by :mod:`pipeline`. One root, :class:`PipelineError`.

Every error class has a short ``kind`` ("decode", "contract", "continuity", "signal", ...): the
dead-letter reason kind used in dead letters and metrics (low cardinality, never the full text).
"""

from __future__ import annotations


class PipelineError(Exception):
    """Root of every error raised by the pipeline package."""

    kind: str = "pipeline"


class ContractError(PipelineError, ValueError):
    """A message or chunk violates the sensor-chunk contract.

    The message text is the precise, human-readable reason; it is what lands in
    the dead-letter topic.
    """

    kind = "contract"


class DecodeError(ContractError):
    """The bytes are not a message of a known encoding (garbage, truncated, wrong magic, bad JSON)."""

    kind = "decode"


class ContinuityError(ContractError):
    """A valid chunk breaks its stream's continuity (duplicate or out-of-order ``seq``, time backwards)."""

    kind = "continuity"


class SignalError(PipelineError, ValueError):
    """A signal cannot be processed (too short, wrong rate, wrong shape)."""

    kind = "signal"


class PlanError(PipelineError, ValueError):
    """A model card cannot run on this worker's stream configuration (clear message, raised at start)."""

    kind = "plan"


class StateCodecError(PipelineError, ValueError):
    """A state record cannot be encoded or decoded (unknown type tag or format version, bad bytes)."""

    kind = "state"
