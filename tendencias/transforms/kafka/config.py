"""kafka-python settings shared by the reader, the writer and the replay tool.

Security settings come only from TENDENCIAS_KAFKA_* environment variables, read where the client is
created (on the worker), so secrets never travel in the pipeline graph, its options or the logs.
"""

from __future__ import annotations

import logging
import os
import threading
import time

_LOG = logging.getLogger(__name__)


def add_bootstrap_flag(parser) -> None:
    """--bootstrap-servers for standalone tools, defaulting to $TENDENCIAS_KAFKA_BOOTSTRAP."""
    parser.add_argument(
        "--bootstrap-servers",
        type=str,
        default=os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
        help="Kafka bootstrap servers (default: $TENDENCIAS_KAFKA_BOOTSTRAP or 127.0.0.1:19092)",
    )


_SECRET_KEYS = ("sasl_plain_password", "ssl_password")
_ENV = "TENDENCIAS_KAFKA_"
_ENV_SETTINGS = {
    "SECURITY_PROTOCOL": "security_protocol",
    "SASL_MECHANISM": "sasl_mechanism",
    "SASL_USERNAME": "sasl_plain_username",
    "SASL_PASSWORD": "sasl_plain_password",
    "SSL_CAFILE": "ssl_cafile",
    "SSL_CERTFILE": "ssl_certfile",
    "SSL_KEYFILE": "ssl_keyfile",
    "SSL_PASSWORD": "ssl_password",
}
_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def kafka_security_config_from_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """kafka-python security settings from TENDENCIAS_KAFKA_* variables (empty: plaintext).

    TENDENCIAS_KAFKA_SECURITY_PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
    TENDENCIAS_KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), TENDENCIAS_KAFKA_SASL_USERNAME,
    TENDENCIAS_KAFKA_SASL_PASSWORD, TENDENCIAS_KAFKA_SSL_CAFILE, TENDENCIAS_KAFKA_SSL_CERTFILE,
    TENDENCIAS_KAFKA_SSL_KEYFILE, TENDENCIAS_KAFKA_SSL_PASSWORD. Errors name variables, never values.
    """
    env = os.environ if env is None else env
    config = {key: env[_ENV + name] for name, key in _ENV_SETTINGS.items() if env.get(_ENV + name)}
    protocol = config.get("security_protocol", "PLAINTEXT").upper()
    if protocol not in _PROTOCOLS:
        raise ValueError(f"{_ENV}SECURITY_PROTOCOL must be one of {', '.join(_PROTOCOLS)}, got {protocol!r}")
    if "security_protocol" in config:
        config["security_protocol"] = protocol
    if protocol.startswith("SASL"):
        mechanism = config.get("sasl_mechanism", "PLAIN").upper()
        if mechanism not in _MECHANISMS:
            raise ValueError(
                f"{_ENV}SASL_MECHANISM must be one of {', '.join(_MECHANISMS)}, got {mechanism!r}"
            )
        config["sasl_mechanism"] = mechanism
        missing = [_ENV + name for name in ("SASL_USERNAME", "SASL_PASSWORD") if not env.get(_ENV + name)]
        if missing:
            raise ValueError(f"{protocol} needs {' and '.join(missing)} set in the environment")
    elif "sasl_mechanism" in config or "sasl_plain_username" in config:
        raise ValueError(f"SASL settings are set but {_ENV}SECURITY_PROTOCOL is {protocol}, not SASL_SSL")
    return config


def checked_extra_config(config: dict | None, allowed: dict, what: str) -> dict:
    config = dict(config or {})
    secrets = sorted(set(config) & set(_SECRET_KEYS))
    if secrets:
        raise ValueError(
            f"{what} must not carry secrets ({', '.join(secrets)}): they would travel in the pipeline "
            f"graph; set {_ENV}SASL_PASSWORD / {_ENV}SSL_PASSWORD in the workers' environment instead"
        )
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise ValueError(f"{what} has settings kafka-python does not know: {', '.join(unknown)}")
    return config


def new_consumer(bootstrap_servers: str, group_id: str | None, extra: dict):
    from kafka import KafkaConsumer

    defaults = {
        "client_id": "tendencias-read",
        "allow_auto_create_topics": False,
        "auto_offset_reset": "earliest",  # only used when a seek lands before the retained log
    }
    # enable_auto_commit stays off whatever the extra settings say: commits happen only after
    # the records were emitted (bundle finalization) or written (durable.py): at least once.
    fixed = {"bootstrap_servers": bootstrap_servers, "group_id": group_id, "enable_auto_commit": False}
    return KafkaConsumer(**{**defaults, **kafka_security_config_from_env(), **extra, **fixed})


def new_producer(bootstrap_servers: str, extra: dict, client_id: str = "tendencias-write"):
    from kafka import KafkaProducer

    settings = {
        "bootstrap_servers": bootstrap_servers,
        "client_id": client_id,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
    }
    return KafkaProducer(**{**settings, **kafka_security_config_from_env(), **extra, "acks": "all"})


# Longer than a broker takes to restart: a client a running job needs waits for it, since a
# failed bundle fails the whole job on Prism.
BROKER_PATIENCE_S = 300.0


def patiently(make, what: str, patience_s: float = BROKER_PATIENCE_S):
    """`make()`, tried again while no broker answers (a broker restarting, a network blip),
    for up to `patience_s`; other errors, and the last one, are raised."""
    from kafka.errors import RetriableError  # connection errors and timeouts among them

    deadline, delay = time.monotonic() + patience_s, 0.5
    while True:
        try:
            return make()
        except RetriableError as err:
            if time.monotonic() + delay > deadline:
                raise
            _LOG.warning("%s: no broker answers (%s); trying again in %.1fs", what, err, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class ClientPool:
    """Idle Kafka clients of one worker process, lent to one bundle at a time, keyed by what they serve.

    A runner keeps a bundle's DoFn instance until it finalizes the bundle, so the checkpointed rest
    of a partition usually runs on another instance; borrowing the partition's consumer from here
    keeps its connection and its prefetched records (and its position, the `state`) instead of
    opening a new one. Clients idle for longer than `max_idle_seconds` are closed.
    """

    def __init__(self, max_idle_seconds: float = 60.0):
        self._lock = threading.Lock()
        self._idle: dict = {}  # key -> (client, state, idle since)
        self._max_idle = max_idle_seconds

    def take(self, key) -> tuple | None:
        """(client, state) for `key`, now owned by the caller, or None."""
        with self._lock:
            found = self._idle.pop(key, None)
        return found[:2] if found else None

    def give(self, key, client, state=None) -> None:
        now = time.monotonic()
        with self._lock:
            replaced = self._idle.pop(key, None)
            self._idle[key] = (client, state, now)
            stale = [k for k, (_, _, since) in self._idle.items() if now - since > self._max_idle]
            closing = [self._idle.pop(k)[0] for k in stale] + ([replaced[0]] if replaced else [])
        for old in closing:
            old.close(autocommit=False)

    def close_idle(self) -> None:
        """Closes every client not lent out (worker teardown); borrowers open new ones when needed."""
        with self._lock:
            closing = [client for client, _, _ in self._idle.values()]
            self._idle.clear()
        for client in closing:
            client.close(autocommit=False)
