"""Connection settings of every Kafka and Redis client (agents/connections.py): pure, no services."""

from __future__ import annotations

import logging
import ssl

import pytest

from agents.app import faust_options
from agents.connections import (
    describe_kafka,
    describe_redis,
    faust_credentials,
    install_log_redaction,
    kafka_client_kwargs,
    redis_kwargs,
    redis_url,
)
from deploy.settings import Settings

SECURE = {
    "kafka_bootstrap": "k1:9093,k2:9093",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_username": "worker",
    "kafka_sasl_password": "k-secret-123",
    "redis_url": "redis://r:6380/0",
    "redis_tls": True,
    "redis_username": "emopipe",
    "redis_password": "r-secret-456",
}


def test_plaintext_defaults_have_no_credentials() -> None:
    s = Settings(kafka_bootstrap="h:9092")
    assert kafka_client_kwargs(s) == {"bootstrap_servers": "h:9092", "security_protocol": "PLAINTEXT"}
    assert faust_credentials(s) is None
    assert faust_options(s)["broker_credentials"] is None
    assert redis_kwargs(s) == {}
    assert redis_url(s) == s.redis_url


def test_sasl_ssl_kwargs() -> None:
    s = Settings(**SECURE)
    kw = kafka_client_kwargs(s)
    assert kw["security_protocol"] == "SASL_SSL"
    assert kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kw["sasl_plain_username"], kw["sasl_plain_password"]) == ("worker", "k-secret-123")
    assert isinstance(kw["ssl_context"], ssl.SSLContext) and kw["ssl_context"].check_hostname
    creds = faust_options(s)["broker_credentials"]
    assert creds.protocol.value == "SASL_SSL" and creds.mechanism.value == "SCRAM-SHA-512"
    assert creds.username == "worker" and creds.password == "k-secret-123"


def test_redis_tls_and_acl() -> None:
    s = Settings(**SECURE, redis_ssl_cafile="/etc/ca.crt")
    assert redis_url(s) == "rediss://r:6380/0"
    assert redis_kwargs(s) == {
        "username": "emopipe", "password": "r-secret-456", "ssl_cert_reqs": "required", "ssl_ca_certs": "/etc/ca.crt",
    }  # fmt: skip


def test_sasl_ssl_without_password_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="EMOPIPE_KAFKA_SASL_PASSWORD"):
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u")


def test_credentials_in_the_redis_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="EMOPIPE_REDIS_PASSWORD") as err:
        Settings(redis_url="redis://u:url-secret-789@h:6379/0")
    assert "url-secret-789" not in str(err.value)


def test_descriptions_and_repr_hide_secrets() -> None:
    s = Settings(**SECURE)
    for text in (repr(s), str(s), describe_kafka(s), describe_redis(s), s.model_dump_json()):
        assert "k-secret-123" not in text and "r-secret-456" not in text
    assert "worker" in describe_kafka(s) and "rediss://" in describe_redis(s)


def test_log_redaction_covers_any_logger(caplog: pytest.LogCaptureFixture) -> None:
    s = Settings(**SECURE)
    before = logging.getLogRecordFactory()
    try:
        install_log_redaction(s)
        install_log_redaction(s)  # twice: still one layer
        log = logging.getLogger("kafka.test")
        with caplog.at_level(logging.DEBUG):
            log.debug("config %s", {"sasl_plain_password": "k-secret-123"})
            log.info("plain %s and %d", "text", 3)
            try:
                raise RuntimeError("auth with r-secret-456 failed")
            except RuntimeError:
                log.exception("boom")
        text = caplog.text
        assert "k-secret-123" not in text and "r-secret-456" not in text
        assert "'sasl_plain_password': '***'" in text
        assert "plain text and 3" in text
    finally:
        logging.setLogRecordFactory(before)
