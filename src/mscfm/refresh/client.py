"""The ClinicalTrials.gov API v2 client: ``GET /api/v2/studies``, paged with ``pageToken``.

Polite and robust: a minimum interval between requests (the API allows about 50 requests a minute
per IP), retries with capped exponential backoff for transient failures, and a clear error when
the network is unreachable. The HTTP transport, the clock and ``sleep`` are injectable, so the
tests run offline on recorded responses.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from mscfm.errors import MscfmError

API_URL = "https://clinicaltrials.gov/api/v2/studies"
MAX_PAGE_SIZE = 1000  # the API's documented maximum for pageSize
DEFAULT_PAGE_SIZE = 200  # full records with results are large; smaller pages fail less often
REQUESTS_PER_MINUTE = 50  # documented limit: about 50 requests per minute per IP address

Sleep = Callable[[float], None]
Clock = Callable[[], float]
T = TypeVar("T")


class RefreshError(MscfmError):
    """The refresh could not finish (network, API answer or files); the message says why."""

    exit_code = 4


class NetworkUnavailable(RefreshError):
    """clinicaltrials.gov could not be reached after all retries."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot reach clinicaltrials.gov: {reason}")
        self.reason = reason


class RateLimiter:
    """Keep at least ``60 / per_minute`` seconds between the starts of two requests."""

    def __init__(self, per_minute: float | None, *, clock: Clock, sleep: Sleep) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._last is not None and self.interval > 0:
            remaining = self._last + self.interval - now
            if remaining > 0:
                self._sleep(remaining)
                now = self._clock()
        self._last = now


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff: base, 2*base, 4*base ... never more than ``max_delay``."""

    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 120.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


@dataclass
class Failure:
    """A failed attempt: why, whether it is worth retrying, and any wait the server asked for."""

    reason: str
    retryable: bool
    network: bool = False
    retry_after: float | None = None


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def with_retries(attempt: Callable[[], T | Failure], *, wait_turn: Callable[[], None],
                 retry: RetryPolicy, sleep: Sleep) -> T | Failure:
    """Run ``attempt`` (after ``wait_turn``, the rate limit) until it gives a result, fails
    for good, or ``retry`` runs out; the server's Retry-After wins over the backoff."""
    failure = Failure("no attempt made", retryable=False)
    for number in range(1, retry.max_attempts + 1):
        wait_turn()
        result = attempt()
        if not isinstance(result, Failure):
            return result
        failure = result
        if not failure.retryable:
            break
        if number < retry.max_attempts:
            sleep(retry.delay(number) if failure.retry_after is None else failure.retry_after)
    return failure


def send(http: httpx.Client, url: str, params: Mapping[str, str]) -> httpx.Response | Failure:
    """GET, with a timeout or an unreachable host as a retryable network failure."""
    try:
        return http.get(url, params=params)
    except httpx.TimeoutException as exc:
        return Failure(f"timed out ({type(exc).__name__})", retryable=True, network=True)
    except httpx.TransportError as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Failure(reason, retryable=True, network=True)


def status_failure(response: httpx.Response) -> Failure | None:
    """A failure for an HTTP error status (429 and 5xx retryable, with any Retry-After), else
    None."""
    status = response.status_code
    wait = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return Failure("HTTP 429 Too Many Requests", retryable=True, retry_after=wait)
    if status >= 500:
        return Failure(f"HTTP {status} {response.reason_phrase}", retryable=True, retry_after=wait)
    if status >= 400:
        # A malformed query does not get better by asking again; show the service's explanation.
        body = response.text.strip().replace("\n", " ")[:200]
        return Failure(f"HTTP {status}: {body}", retryable=False)
    return None


class CtgovClient:
    """Paged, rate-limited, retrying reader of ``GET /api/v2/studies``.

    Pass ``http`` (an ``httpx.Client``) or ``transport`` (e.g. ``httpx.MockTransport``) to run
    without the network; pass ``sleep`` and ``clock`` so tests never really wait.
    """

    def __init__(
        self,
        http: httpx.Client | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        requests_per_minute: float | None = REQUESTS_PER_MINUTE,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        timeout: float = 60.0,
        fields: Sequence[str] | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise RefreshError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        self._http = http or httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "mscfm-refresh-registry"},
        )
        self.page_size = page_size
        self.fields = tuple(fields or ())
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._limiter = RateLimiter(requests_per_minute, clock=clock, sleep=sleep)

    def close(self) -> None:
        self._http.close()

    def fetch_page(self, term: str, page_token: str | None = None) -> dict[str, Any]:
        """One page of studies for ``term``: ``{"studies": [...], "nextPageToken": ...}``."""
        params = {"query.term": term, "pageSize": str(self.page_size), "format": "json"}
        if page_token:
            params["pageToken"] = page_token
        if self.fields:
            params["fields"] = ",".join(self.fields)
        result = with_retries(lambda: self._attempt(params), wait_turn=self._limiter.wait,
                              retry=self.retry, sleep=self._sleep)
        if not isinstance(result, Failure):
            return result
        failure = result
        where = f"term {term!r}, page token {page_token or '(first page)'}"
        if failure.network:
            raise NetworkUnavailable(f"{failure.reason} ({where})")
        tries = "" if not failure.retryable else f" after {self.retry.max_attempts} attempts"
        raise RefreshError(
            f"clinicaltrials.gov answer unusable for {where}{tries}: {failure.reason}"
        )

    def _attempt(self, params: dict[str, str]) -> dict[str, Any] | Failure:
        response = send(self._http, API_URL, params)
        return response if isinstance(response, Failure) else _judge_response(response)


def _judge_response(response: httpx.Response) -> dict[str, Any] | Failure:
    failure = status_failure(response)
    if failure is not None:
        return failure
    try:
        page = response.json()
    except ValueError as exc:  # truncated or otherwise invalid body
        return Failure(f"invalid JSON body ({exc})", retryable=True)
    if not isinstance(page, dict) or not isinstance(page.get("studies", []), list):
        return Failure("JSON body is not an object with a 'studies' list", retryable=True)
    page.setdefault("studies", [])
    return page
