"""Errors raised by :mod:`models`. One root, :class:`ModelError`."""

from __future__ import annotations


class ModelError(Exception):
    """Root of every error raised by the models package."""


class DataNotFoundError(ModelError, FileNotFoundError):
    """Training or evaluation data is missing (for example ``../shared/data``)."""


class LabelError(ModelError, ValueError):
    """A label file (CSV, E4 tags, markers) is missing, malformed or does not match the model's classes."""
