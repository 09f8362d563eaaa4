"""Every Kafka and Redis client of emopipe gets its connection settings here, from :class:`Settings`.

One place decides how a client authenticates, so the Faust app, the kafka-python producer, admin
and consumers, and the Redis sink, client and ``subscribe`` cannot drift apart:

- :func:`kafka_client_kwargs`: keyword arguments for kafka-python (``KafkaProducer``,
  ``KafkaConsumer``, ``KafkaAdminClient``);
- :func:`faust_credentials`: ``broker_credentials`` for the Faust app (aiokafka underneath);
- :func:`redis_url` / :func:`redis_kwargs`: URL and keyword arguments for ``redis.Redis.from_url``
  and ``redis.asyncio.from_url``.

Modes
    Kafka ``PLAINTEXT`` (the default, a local broker), or ``SASL_SSL``: SCRAM-SHA-512 (or -256 /
    PLAIN) over TLS, the server certificate checked against ``kafka_ssl_cafile`` (the system CAs
    when None). Redis: an ACL user and password when set; TLS when ``redis_tls`` or the URL is
    ``rediss://``, the certificate checked against ``redis_ssl_cafile``. Client certificates are not
    used: the password is the credential (mutual TLS is not wired).

Secrets
    Passwords stay :class:`~pydantic.SecretStr` in :class:`Settings` and are unwrapped only in the
    dictionaries built here, which are handed straight to the client libraries and never logged.
    :func:`describe_kafka` / :func:`describe_redis` give what is safe to print.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from deploy.settings import Settings


def _kafka_ssl_context(settings: Settings) -> ssl.SSLContext:
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    ctx = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH, cafile=cafile)
    ctx.check_hostname = settings.kafka_ssl_check_hostname
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _password(settings: Settings) -> str:
    if settings.kafka_sasl_password is None:  # Settings' validator makes this unreachable for SASL_SSL
        msg = "SASL_SSL needs kafka_sasl_password"
        raise ValueError(msg)
    return settings.kafka_sasl_password.get_secret_value()


def kafka_client_kwargs(settings: Settings) -> dict[str, Any]:
    """kafka-python keyword arguments: bootstrap servers and, for SASL_SSL, the credentials and TLS.

    Examples
    --------
    >>> kafka_client_kwargs(Settings(kafka_bootstrap="h:9092"))
    {'bootstrap_servers': 'h:9092', 'security_protocol': 'PLAINTEXT'}
    """
    kw: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap}
    if settings.kafka_security_protocol == "PLAINTEXT":
        kw["security_protocol"] = "PLAINTEXT"
        return kw
    kw.update(
        security_protocol="SASL_SSL",
        sasl_mechanism=settings.kafka_sasl_mechanism,
        sasl_plain_username=settings.kafka_sasl_username,
        sasl_plain_password=_password(settings),
        ssl_context=_kafka_ssl_context(settings),
        ssl_check_hostname=settings.kafka_ssl_check_hostname,
    )
    return kw


def faust_credentials(settings: Settings) -> Any:
    """Faust ``broker_credentials`` (``faust.SASLCredentials`` with a TLS context), or None for PLAINTEXT."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    import faust

    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=_password(settings),
        ssl_context=_kafka_ssl_context(settings),
        mechanism=settings.kafka_sasl_mechanism,
    )


def redis_url(settings: Settings) -> str:
    """The Redis URL, switched to ``rediss://`` when ``redis_tls`` is set."""
    url = settings.redis_url
    if settings.redis_tls and url.startswith("redis://"):
        url = "rediss://" + url[len("redis://") :]
    return url


def redis_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``from_url`` of redis-py (sync and asyncio): ACL user, password, TLS CA."""
    kw: dict[str, Any] = {}
    if settings.redis_username:
        kw["username"] = settings.redis_username
    if settings.redis_password is not None:
        kw["password"] = settings.redis_password.get_secret_value()
    if redis_url(settings).startswith("rediss://"):
        kw["ssl_cert_reqs"] = "required"
        if settings.redis_ssl_cafile:
            kw["ssl_ca_certs"] = str(settings.redis_ssl_cafile)
    return kw


def sync_redis(settings: Settings) -> Any:
    """A synchronous ``redis.Redis`` for these settings (not connected until first used)."""
    import redis

    return redis.Redis.from_url(redis_url(settings), **redis_kwargs(settings))


def describe_kafka(settings: Settings) -> str:
    """What to print about the Kafka connection: servers, protocol and user, never the password."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return settings.kafka_bootstrap
    s = settings
    return f"{s.kafka_bootstrap} ({s.kafka_security_protocol} {s.kafka_sasl_mechanism} user {s.kafka_sasl_username})"


def describe_redis(settings: Settings) -> str:
    """What to print about the Redis connection: URL (no credentials in it) and user, never the password."""
    user = f" user {settings.redis_username}" if settings.redis_username else ""
    return f"{redis_url(settings)}{user}"


def secret_values(settings: Settings) -> list[str]:
    """The secret strings of these settings (passwords), for redaction."""
    values = [settings.kafka_sasl_password, settings.redis_password]
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for s in secrets:
        text = text.replace(s, "***")
    return text


def install_log_redaction(settings: Settings) -> None:
    """Make every log record of this process (any logger, any handler) unable to show a password.

    The client libraries log their whole configuration at DEBUG (kafka-python does, password
    included), so redaction happens where records are made (``logging.setLogRecordFactory``),
    before any handler or formatter sees them. Only records that pass the level check are made.
    """
    import logging

    secrets = secret_values(settings)
    if not secrets:
        return
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_emopipe_redacting", False):
        previous = previous._emopipe_previous  # type: ignore[attr-defined]

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error handling
            return record
        if any(secret in message for secret in secrets):
            record.msg, record.args = redact(message, secrets), ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            if any(secret in text for secret in secrets):
                record.exc_text = redact(text, secrets)
        return record

    factory._emopipe_redacting = True  # type: ignore[attr-defined]
    factory._emopipe_previous = previous  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on now (for local services, workers and tests)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
