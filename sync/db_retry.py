"""Recording a run's outcome survives a database restart: the write is retried until it is back.

A run's work (a commit written, a push made) cannot be undone, so losing its record to a database
restart would leave the run ``running`` until the reaper re-executes it. Only connection-level
errors are retried; each try starts on a fresh connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

logger = logging.getLogger(__name__)
DATABASE_DOWN = (OperationalError, InterfaceError)
T = TypeVar("T")


def _reconnect(state: RetryCallState) -> None:
    logger.warning("database unreachable while recording a run (try %d); retrying: %s",
                   state.attempt_number, state.outcome.exception() if state.outcome else "")
    connection.close()  # the next try opens a new connection


def until_database_is_back(fn: Callable[[], T]) -> T:
    """Call ``fn`` (one transaction) until it gets through, for up to COREGIT_DB_RETRY_SECONDS."""
    retrying = Retrying(
        retry=retry_if_exception_type(DATABASE_DOWN),
        stop=stop_after_delay(settings.COREGIT_DB_RETRY_SECONDS),
        wait=wait_exponential(multiplier=0.5, max=10),
        before_sleep=_reconnect,
        reraise=True,
    )
    return retrying(fn)
