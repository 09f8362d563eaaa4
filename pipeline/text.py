"""Text that is safe to show: every non-printable character escaped.

Ids and labels arrive from devices. Before they reach a terminal (or a web page, which must also
HTML-escape), control characters, ANSI escapes, bidirectional overrides and other format characters
are replaced by their Python escape (``\\x1b``, ``\\u202e``), so nothing a producer sends can move the
cursor, recolour the screen or reorder what a reader sees.

Examples
--------
>>> escape_text("S02")
'S02'
>>> escape_text("S02\\x1b[2J\\u202eevil\\n")
'S02\\\\x1b[2J\\\\u202eevil\\\\n'
>>> escape_text("caf\\u00e9 \\u00b5S")
'café µS'
"""

from __future__ import annotations


def _escape_char(ch: str) -> str:
    if ch.isprintable() and ch != "\\":
        return ch
    if ch == "\\":
        return "\\\\"
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}" if ch not in "\n\t\r" else {"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch]
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_text(text: object, *, limit: int | None = None) -> str:
    """``str(text)`` with every non-printable character (and the backslash) escaped.

    Parameters
    ----------
    text
        Anything; converted with ``str``.
    limit
        Cut the result to this many characters (``...`` appended), None for no limit.
    """
    s = str(text)
    out = s if s.isprintable() and "\\" not in s else "".join(_escape_char(c) for c in s)
    if limit is not None and len(out) > limit:
        return out[: max(limit - 3, 0)] + "..."
    return out


__all__ = ["escape_text"]
