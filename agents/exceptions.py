"""Errors raised by :mod:`agents`. One root, :class:`AgentError`."""

from __future__ import annotations

from pipeline.exceptions import PipelineError


class AgentError(Exception):
    """Root of every error raised by the agents package."""


class DeliveryError(AgentError):
    """A message could not be delivered to Kafka."""


class HeadError(AgentError, PipelineError):
    """A head could not read a window (the reason names the head); the other heads read it.

    A :class:`~pipeline.exceptions.PipelineError` too, so its text is the dead letter's reason.
    """
