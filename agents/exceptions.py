"""Errors raised by :mod:`agents`. One root, :class:`AgentError`."""

from __future__ import annotations


class AgentError(Exception):
    """Root of every error raised by the agents package."""


class DeliveryError(AgentError):
    """A message could not be delivered to Kafka."""
