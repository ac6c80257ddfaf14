"""The ``interop-hub`` command line: one sub-command per area, each registered by its module.

The same machinery serves every program of the project: :func:`run` parses the arguments, sets up
logging, masking and the umask, calls the command and turns what it raises into an exit code.
``interop-hub`` (:func:`main`) passes the hub's own command modules; ``interop-agency``,
``python -m bench`` and ``python -m demo`` pass theirs (the hub names none of them).

Exit codes, for every command: 0 ok; 1 failure (a check that failed, a service that cannot be
reached, an operation that did not succeed); 2 usage or configuration error (argparse's own usage
errors, invalid ``HUB_*`` settings, a bad argument value).  A handler returns 0 or 1 itself or
raises; :func:`run` turns whatever it raises into one ``error [...]: ...`` line on stderr and the
exit code (:func:`explain`): no traceback, unless ``-v`` asks for it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import urllib.error
from collections.abc import Sequence
from typing import Any

import pydantic
from aiokafka.errors import KafkaConnectionError, KafkaError

from hub import event_loop
from hub.console import echo
from hub.errors import CatalogError, ConfigError, HubError, ValidationError
from hub.file_modes import restrict_umask
from hub.log_format import JsonFormatter, configure_logging
from hub.masking import install_masking, mask_text
from hub.settings import ENV_PREFIX, HubSettings, get_settings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

log = logging.getLogger(__name__)

#: modules that add a sub-command through ``register(subparsers)``
COMMAND_MODULES = (
    "hub.broker.commands",
    "hub.topic_commands",
    "hub.schema_commands",
    "hub.worker_commands",
    "hub.keys_commands",
    "hub.registry_commands",
    "hub.request_commands",
    "hub.audit_commands",
    "hub.calendar_commands",
    "hub.security.commands",
    "hub.contract.commands",
)


def program_parser(prog: str, description: str | None, **kwargs: Any) -> argparse.ArgumentParser:
    """The parser of a program run by :func:`run`: its own arguments follow ``-v``."""
    parser = argparse.ArgumentParser(prog=prog, description=description, **kwargs)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def commands_parser(prog: str, description: str, command_modules: Sequence[str]) -> argparse.ArgumentParser:
    """A program of sub-commands, each added by one of ``command_modules`` (``register(subparsers)``)."""
    parser = program_parser(prog, description)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in command_modules:
        importlib.import_module(name).register(sub)
    return parser


def build_parser() -> argparse.ArgumentParser:
    return commands_parser(
        "interop-hub", "Interop hub between enforcement courts and banks, police and the credit platform.",
        COMMAND_MODULES,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and call the chosen ``func(args, settings)``: the exit code (0, 1 or 2).

    Every process (worker, simulators, tools) logs as the settings say, masks resident IDs, accounts
    and phones in every log line and creates owner-only files; an error is one line on stderr."""
    args = parser.parse_args(argv)  # a usage error exits 2 here
    settings: HubSettings | None = None
    try:
        settings = get_settings()
        configure_logging(  # logging.basicConfig: text, or JSON lines with HUB_LOG_FORMAT=json (hub.log_format)
            logging.DEBUG if args.verbose else getattr(logging, settings.log_level.upper(), logging.INFO),
            settings.log_format,
        )
        if not args.verbose:  # aiokafka's per-connection INFO lines ("Authenticated as ...") are noise to an operator
            logging.getLogger("aiokafka").setLevel(logging.WARNING)
        install_masking()  # every process (worker, simulators): no resident ID, account or phone in a log line
        restrict_umask()  # every file a hub process (or the broker JVM it starts) creates is owner-only
        event_loop.install(settings)
        code: int = args.func(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        code, label, message = explain(exc, settings)
        line = f"error [{label}]: {mask_text(message)}"
        if _log_format(settings) == "json":  # stderr stays one JSON object per line
            line = JsonFormatter().format(log.makeRecord(log.name, logging.ERROR, __file__, 0, line, (), None))
        echo(line, err=True)  # whatever the log level
        log.debug("the error's traceback", exc_info=True)  # shown with -v only
        return code
    return code


def _log_format(settings: HubSettings | None) -> str:
    """The log format, also when the settings did not load (an invalid other ``HUB_*`` variable)."""
    if settings is not None:
        return settings.log_format
    return "json" if os.environ.get(f"{ENV_PREFIX}LOG_FORMAT", "").strip() == "json" else "text"


def explain(exc: Exception, settings: HubSettings | None) -> tuple[int, str, str]:
    """(exit code, error label, message) of an exception a command raised."""
    if isinstance(exc, pydantic.ValidationError):
        return EXIT_USAGE, ConfigError.code, _invalid_settings(exc)
    if isinstance(exc, HubError):
        usage = isinstance(exc, ConfigError | ValidationError | CatalogError) and not exc.retriable
        return (EXIT_USAGE if usage else EXIT_FAILURE), exc.code, str(exc)
    if isinstance(exc, KafkaConnectionError):
        where = settings.bootstrap_servers if settings else "?"
        return EXIT_FAILURE, "unreachable", f"cannot reach the Kafka broker at {where}"
    if isinstance(exc, KafkaError):
        return EXIT_FAILURE, "kafka_error", f"Kafka: {_one_line(exc)}"
    if isinstance(exc, urllib.error.URLError):  # only the hub worker's HTTP port is ever asked
        where = f"http://{settings.web_host}:{settings.web_port}" if settings else "?"
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
        return EXIT_FAILURE, "unreachable", f"cannot reach the hub worker at {where} ({_one_line(reason)})"
    if isinstance(exc, ConnectionError | TimeoutError):
        return EXIT_FAILURE, "unreachable", f"{type(exc).__name__}: {_one_line(exc)}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_FAILURE, "io_error", f"{exc.strerror or _one_line(exc)}{where}"
    return (EXIT_FAILURE, "internal_error",
            f"unexpected {type(exc).__name__}: {_one_line(exc)} (run with -v for the traceback)")


def _invalid_settings(exc: pydantic.ValidationError) -> str:
    settings = exc.title == HubSettings.__name__
    problems = []
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"])
        if settings:
            name = ENV_PREFIX + name.upper()  # the environment variable to fix
        value = "" if "password" in name.lower() or "token" in name.lower() else f"={err.get('input')!r}"
        problems.append(f"{name}{value}: {err['msg']}")
    return f"invalid {'settings' if settings else exc.title}: " + "; ".join(problems)


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) or "(no message)"


if __name__ == "__main__":
    sys.exit(main())
