"""Errors raised by :mod:`pipeline`. One root, :class:`PipelineError`."""

from __future__ import annotations


class PipelineError(Exception):
    """Root of every error raised by the pipeline package."""


class ContractError(PipelineError, ValueError):
    """A message or chunk violates the sensor-chunk contract.

    The message text is the precise, human-readable reason; it is what lands in
    the dead-letter topic.
    """


class SignalError(PipelineError, ValueError):
    """A signal cannot be processed (too short, wrong rate, wrong shape)."""


class StateCodecError(PipelineError, ValueError):
    """A state record cannot be encoded or decoded (unknown type tag or format version, bad bytes)."""
