"""One HTTP client for the literature services: per-service rate limits, retries with capped
exponential backoff on 429 and 5xx (a ``Retry-After`` header wins), and one clear error when the
network is unreachable.

Rate limits as the services publish them: NCBI E-utilities allow 3 requests a second without an
API key and 10 with one (the key is read from the environment variable ``NCBI_API_KEY`` and sent
as ``api_key``); Europe PMC asks for polite use without a fixed figure, so we keep to a few
requests a second. The transport, the clock and ``sleep`` are injectable, so the tests run offline
and never wait. The limiter, the retry loop, the backoff policy and the judging of HTTP
answers are those of :mod:`mscfm.refresh.client`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from mscfm.errors import MscfmError
from mscfm.refresh.client import (
    Clock,
    Failure,
    RateLimiter,
    RetryPolicy,
    Sleep,
    send,
    status_failure,
    with_retries,
)

NCBI_HOST = "eutils.ncbi.nlm.nih.gov"
NCBI_PER_SECOND = 3.0  # without an API key
NCBI_PER_SECOND_WITH_KEY = 10.0
EUROPEPMC_PER_SECOND = 3.0  # no published figure: stay polite
API_KEY_ENV = "NCBI_API_KEY"


class LiteratureError(MscfmError):
    """The literature search could not finish (network, service answer or files)."""

    exit_code = 4


class NetworkUnavailable(LiteratureError):
    """A service could not be reached after all retries."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot reach {host}: {reason}")
        self.host = host
        self.reason = reason


@dataclass
class Answer:
    """A successful response: the URL asked (with its parameters) and the raw body."""

    url: str
    body: bytes
    content_type: str = ""


@dataclass
class LiteratureClient:
    """GET with per-host rate limits and retries. ``api_key`` defaults to ``$NCBI_API_KEY``."""

    transport: httpx.BaseTransport | None = None
    api_key: str | None = None
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=5, base_delay=1.0))
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    timeout: float = 60.0
    tool: str = "mscfm-search-literature"
    _http: httpx.Client | None = field(default=None, init=False, repr=False)
    _limiters: dict[str, RateLimiter] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.api_key is None:
            self.api_key = os.environ.get(API_KEY_ENV) or None
        self._http = httpx.Client(transport=self.transport, timeout=self.timeout,
                                  headers={"User-Agent": self.tool})

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def per_second(self, host: str) -> float:
        """The request rate kept for ``host``."""
        if host == NCBI_HOST:
            return NCBI_PER_SECOND_WITH_KEY if self.api_key else NCBI_PER_SECOND
        return EUROPEPMC_PER_SECOND

    def _limiter(self, host: str) -> RateLimiter:
        if host not in self._limiters:
            self._limiters[host] = RateLimiter(60.0 * self.per_second(host), clock=self.clock,
                                               sleep=self.sleep)
        return self._limiters[host]

    def get(self, url: str, params: Mapping[str, str]) -> Answer:
        """GET ``url`` with ``params``; NCBI requests carry ``tool`` and, if set, ``api_key``."""
        host = urlsplit(url).hostname or url
        query = dict(params)
        if host == NCBI_HOST:
            query.setdefault("tool", self.tool)
            if self.api_key:
                query["api_key"] = self.api_key
        result = with_retries(lambda: self._attempt(url, query),
                              wait_turn=self._limiter(host).wait, retry=self.retry,
                              sleep=self.sleep)
        if isinstance(result, Answer):
            return result
        failure = result
        if failure.network:
            raise NetworkUnavailable(host, failure.reason)
        tries = f" after {self.retry.max_attempts} attempts" if failure.retryable else ""
        raise LiteratureError(f"{host} answer unusable{tries}: {failure.reason}")

    def _attempt(self, url: str, query: dict[str, str]) -> Answer | Failure:
        assert self._http is not None
        response = send(self._http, url, query)
        if isinstance(response, Failure):
            return response
        return status_failure(response) or Answer(str(response.url), response.content,
                                                  response.headers.get("Content-Type", ""))
