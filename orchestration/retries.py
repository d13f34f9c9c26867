"""Transient failures are retried with backoff; permanent ones stop at once with what to fix.

Every job's ops get RETRY_POLICY (exponential backoff with jitter). Under a retry policy Dagster
retries any exception except `dg.Failure(allow_retries=False)`, so steps run their work inside
`permanent_failures(...)`, which turns anything `is_transient` does not recognise into such a
Failure, with a message naming what to fix. In-process runs (`execute_in_process`, used by
orchestration/runner.py) honour op retry policies and wait out the delay between attempts; they also
retry a step that was interrupted (Ctrl-C, SIGTERM), which `permanent_failures` prevents.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from shop.readers import MalformedFileError

RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

# Lower-cased fragments of messages of failures that a later attempt can succeed at.
TRANSIENT_MESSAGES = (
    "could not set lock",  # DuckDB: another process holds the warehouse file (a reader, a crashed run)
    "database is locked",  # SQLite (MLflow's tracking store) under concurrent writers
    "write-write conflict",
    "resource temporarily unavailable",
    "timed out",
    "connection reset",
    "connection refused",
    "too many open files",
)
TRANSIENT_ERRNOS = frozenset(
    {errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.EIO, errno.ETIMEDOUT, errno.EMFILE, errno.ENFILE,
     errno.ECONNRESET, errno.ECONNREFUSED, errno.ENOSPC}
)
_TRANSIENT_TYPES = (TimeoutError, ConnectionError, BlockingIOError, InterruptedError)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: locks, timeouts, interrupted or exhausted IO (anywhere in
    the exception's cause chain). Everything else (contract and parse errors, malformed files, dbt
    compile or test failures, bugs) is permanent: retrying cannot change the outcome."""
    for e in _chain(exc):
        if isinstance(e, dg.Failure) and e.allow_retries is False:
            return False
        if isinstance(e, MalformedFileError):
            return False
        if isinstance(e, _TRANSIENT_TYPES):
            return True
        if isinstance(e, OSError) and e.errno in TRANSIENT_ERRNOS:
            return True
        text = f"{getattr(e, 'description', '') or ''} {e}".lower()
        if any(fragment in text for fragment in TRANSIENT_MESSAGES):
            return True
    return False


def what_to_fix(exc: BaseException) -> str:
    """One sentence telling the operator what to change before re-running."""
    for e in _chain(exc):
        if isinstance(e, MalformedFileError):
            return (f"fix or remove the landing file {e.path} ({e.problem}), or export it again, "
                    "then re-run the partition")
        if type(e).__name__ == "DagsterDbtCliRuntimeError":
            return "fix the dbt model or test named in the dbt errors above, then re-run the partition"
    return "fix the cause named above, then re-run the partition"


def permanent_failure(step: str, exc: BaseException) -> dg.Failure:
    detail = getattr(exc, "description", None) or str(exc) or type(exc).__name__
    return dg.Failure(
        description=f"{step} failed permanently (not retried): {detail}\nWhat to fix: {what_to_fix(exc)}.",
        metadata={"error_type": type(exc).__name__},
        allow_retries=False,
    )


@contextmanager
def permanent_failures(step: str) -> Iterator[None]:
    """Let transient failures through (the retry policy retries them); turn the rest into a
    non-retryable dg.Failure that names `step` and what to fix.

    An interrupt (Ctrl-C, SIGTERM, a run terminated from the UI) stops the step without a retry:
    under a retry policy Dagster would otherwise restart the interrupted step, even in-process."""
    try:
        yield
    except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError) as exc:
        raise dg.Failure(description=f"{step} was interrupted (not retried); re-run the partition to finish it.",
                         allow_retries=False) from exc
    except Exception as exc:
        if (isinstance(exc, dg.Failure) and exc.allow_retries is False) or is_transient(exc):
            raise
        raise permanent_failure(step, exc) from exc
