"""Bring the ClinicalTrials.gov registry up to date through the API v2 (`mscfm refresh-registry`).

The October 2022 snapshot came from the retired API v1 "study fields" endpoint: one JSON object
keyed by NCT ID, each record mapping a v1 field name to a list of strings. This module runs the
same searches against API v2 (``GET /api/v2/studies``, paged with ``pageToken``), converts every v2
study to that v1 shape (:func:`v2_to_v1`) so that :mod:`mscfm.registry` derives the same table with
the same rules, and reports what changed since the previous snapshot (:func:`diff_registries`).

Network use is polite and restartable: a minimum interval between requests (the API allows about
50 requests a minute per IP), retries with capped exponential backoff for transient failures, and
every fetched page kept on disk so that an interrupted run resumes where it stopped. The HTTP
transport, the clock and ``sleep`` are injectable, so the tests run offline on recorded responses.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import io
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from mscfm import registry
from mscfm.errors import MscfmError

API_URL = "https://clinicaltrials.gov/api/v2/studies"
MAX_PAGE_SIZE = 1000  # the API's documented maximum for pageSize
DEFAULT_PAGE_SIZE = 200  # full records with results are large; smaller pages fail less often
REQUESTS_PER_MINUTE = 50  # documented limit: about 50 requests per minute per IP address
FIXTURES_ENV = "MSCFM_CTGOV_FIXTURES"  # replay recorded responses instead of using the network

# The snapshot's searches (jesnyder/mapClinical, user_provided/admin/search_terms.csv, as described
# in SNAPSHOT.md). The first six and the "mesenchymal <product>" terms are confirmed in the stored
# copy of that file (commit 920851ef1c243a683fb59a86957c591132d7087e) or named in SNAPSHOT.md;
# "Cartistem" and "Lomecel-B" are named in SNAPSHOT.md without their exact query form, so they are
# queried bare (a superset of "mesenchymal <name>").
SEARCH_TERMS: tuple[str, ...] = (
    "mesenchymal stem",
    "mesenchymal stromal",
    "allogeneic mesenchymal",
    "autologous mesenchymal",
    "mesenchymal placental",
    "mesenchymal umbilical cord",
    "mesenchymal ALLO-ASC",
    "mesenchymal allo-MSCs",
    "mesenchymal remestemcel-l",
    "mesenchymal cardiocell",
    "mesenchymal AlloRx",
    "mesenchymal Alofisel",
    "mesenchymal AstroStem-V",
    "Cartistem",
    "Lomecel-B",
)

Sleep = Callable[[float], None]
Clock = Callable[[], float]
Progress = Callable[[str], None]
V1Record = dict[str, list[str]]


class RefreshError(MscfmError):
    """The refresh could not finish (network, API answer or files); the message says why."""

    exit_code = 4


class NetworkUnavailable(RefreshError):
    """clinicaltrials.gov could not be reached after all retries."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot reach clinicaltrials.gov: {reason}")
        self.reason = reason


# --------------------------------------------------------------------------------------------
# Politeness: rate limit and retries
# --------------------------------------------------------------------------------------------


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
class _Failure:
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
        failure = _Failure("no attempt made", retryable=False)
        for attempt in range(1, self.retry.max_attempts + 1):
            self._limiter.wait()
            result = self._attempt(params)
            if isinstance(result, dict):
                return result
            failure = result
            if not failure.retryable:
                break
            if attempt < self.retry.max_attempts:
                wait = failure.retry_after
                self._sleep(self.retry.delay(attempt) if wait is None else wait)
        where = f"term {term!r}, page token {page_token or '(first page)'}"
        if failure.network:
            raise NetworkUnavailable(f"{failure.reason} ({where})")
        tries = "" if not failure.retryable else f" after {self.retry.max_attempts} attempts"
        raise RefreshError(
            f"clinicaltrials.gov answer unusable for {where}{tries}: {failure.reason}"
        )

    def _attempt(self, params: dict[str, str]) -> dict[str, Any] | _Failure:
        try:
            response = self._http.get(API_URL, params=params)
        except httpx.TimeoutException as exc:
            return _Failure(f"timed out ({type(exc).__name__})", retryable=True, network=True)
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return _Failure(reason, retryable=True, network=True)
        return _judge_response(response)


def _judge_response(response: httpx.Response) -> dict[str, Any] | _Failure:
    status = response.status_code
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return _Failure("HTTP 429 Too Many Requests", retryable=True, retry_after=wait)
    if status >= 500:
        return _Failure(f"HTTP {status} {response.reason_phrase}", retryable=True)
    if status >= 400:
        # A malformed query does not get better by asking again; show the API's explanation.
        body = response.text.strip().replace("\n", " ")[:200]
        return _Failure(f"HTTP {status}: {body}", retryable=False)
    try:
        page = response.json()
    except ValueError as exc:  # truncated or otherwise invalid body
        return _Failure(f"invalid JSON body ({exc})", retryable=True)
    if not isinstance(page, dict) or not isinstance(page.get("studies", []), list):
        return _Failure("JSON body is not an object with a 'studies' list", retryable=True)
    page.setdefault("studies", [])
    return page


# --------------------------------------------------------------------------------------------
# Resumable download: one folder per search term, one file per page, plus a state file
# --------------------------------------------------------------------------------------------


@dataclass
class TermState:
    """How far the download of one search term got (stored as ``state.json``)."""

    term: str
    page_size: int
    pages: int = 0
    studies: int = 0
    next_page_token: str | None = None
    complete: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "page_size": self.page_size,
            "pages": self.pages,
            "studies": self.studies,
            "next_page_token": self.next_page_token,
            "complete": self.complete,
        }


def term_slug(term: str) -> str:
    """A folder name for a search term: lower case, runs of other characters become '-'."""
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-") or "term"


def partial_dir(out_dir: Path, today: dt.date) -> Path:
    return Path(out_dir) / "raw" / f"ctgov_v2_{today.isoformat()}.partial"


def stderr_progress() -> Progress | None:
    """Progress lines on stderr when it is a terminal, nothing otherwise (logs, CI, tests)."""
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        print(f"\r\033[K{message}", end="", file=sys.stderr, flush=True)

    return show


def download_term(
    client: CtgovClient,
    term: str,
    folder: Path,
    *,
    max_pages: int | None = None,
    resume: bool = True,
    progress: Progress | None = None,
) -> TermState:
    """Fetch every page of ``term`` into ``folder/<slug>/page-NNNN.json``; resume if possible."""
    term_dir = Path(folder) / term_slug(term)
    state = _read_state(term_dir, term, client.page_size) if resume else None
    if state is None:
        shutil.rmtree(term_dir, ignore_errors=True)
        state = TermState(term=term, page_size=client.page_size)
    while not state.complete and (max_pages is None or state.pages < max_pages):
        page = client.fetch_page(term, state.next_page_token)
        studies = [strip_contacts(study) for study in page["studies"]]
        token = page.get("nextPageToken") or None
        number = state.pages + 1
        _write_json_atomic(
            term_dir / f"page-{number:04d}.json", {"studies": studies, "nextPageToken": token}
        )
        state.pages, state.next_page_token = number, token
        state.studies += len(studies)
        state.complete = token is None
        _write_json_atomic(term_dir / "state.json", state.to_json())
        if progress:
            progress(f"{term}: page {number}, {state.studies} studies so far")
    return state


def _read_state(term_dir: Path, term: str, page_size: int) -> TermState | None:
    """The saved state if it belongs to this term and page size (tokens depend on both)."""
    try:
        saved = json.loads((term_dir / "state.json").read_text(encoding="utf-8"))
        state = TermState(**saved)
    except (OSError, ValueError, TypeError):
        return None
    pages_present = all(
        (term_dir / f"page-{n:04d}.json").is_file() for n in range(1, state.pages + 1)
    )
    if state.term != term or state.page_size != page_size or not pages_present:
        return None
    return state


def read_term_pages(folder: Path, term: str) -> list[dict[str, Any]]:
    """The studies saved for ``term``, in page order."""
    term_dir = Path(folder) / term_slug(term)
    studies: list[dict[str, Any]] = []
    for path in sorted(term_dir.glob("page-*.json")):
        studies.extend(json.loads(path.read_text(encoding="utf-8"))["studies"])
    return studies


def _write_json_atomic(path: Path, payload: Any) -> None:
    """Write through a temporary file so an interrupted run never leaves half a page behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# v2 JSON -> v1 "study fields" record
# --------------------------------------------------------------------------------------------

# Personal contact data is never kept, not even in the download folder.
CONTACT_KEYS = frozenset({"centralContacts", "overallOfficials", "contacts"})

# v1 spellings, checked against the October 2022 snapshot where it has the value.
PHASES = {
    "EARLY_PHASE1": "Early Phase 1",
    "PHASE1": "Phase 1",
    "PHASE2": "Phase 2",
    "PHASE3": "Phase 3",
    "PHASE4": "Phase 4",
    "NA": "Not Applicable",
}
STATUSES = {
    "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "COMPLETED": "Completed",
    "ENROLLING_BY_INVITATION": "Enrolling by invitation",
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "RECRUITING": "Recruiting",
    "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated",
    "WITHDRAWN": "Withdrawn",
    "AVAILABLE": "Available",
    "NO_LONGER_AVAILABLE": "No longer available",
    "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
    "APPROVED_FOR_MARKETING": "Approved for marketing",
    "WITHHELD": "Withheld",
    "UNKNOWN": "Unknown status",
}
DATE_TYPES = {"ACTUAL": "Actual", "ESTIMATED": "Anticipated"}  # v1 said "Anticipated"
ALLOCATIONS = {"RANDOMIZED": "Randomized", "NON_RANDOMIZED": "Non-Randomized", "NA": "N/A"}
MASKINGS = {"NONE": "None (Open Label)"}
SPECIAL_WORDS = {"NA": "N/A"}


def strip_contacts(value: Any) -> Any:
    """A copy of a v2 study without central contacts, officials and location contacts."""
    if isinstance(value, dict):
        return {k: strip_contacts(v) for k, v in value.items() if k not in CONTACT_KEYS}
    if isinstance(value, list):
        return [strip_contacts(v) for v in value]
    return value


def v1_enum(value: str, table: dict[str, str] | None = None) -> str:
    """v2 enum (``BIOLOGICAL``, ``DIETARY_SUPPLEMENT``) to v1 words (``Biological``...)."""
    if table and value in table:
        return table[value]
    if value in SPECIAL_WORDS:
        return SPECIAL_WORDS[value]
    return " ".join(word.capitalize() for word in value.split("_"))


_MONTHS = (
    "January February March April May June July August September October November December"
).split()


def v1_date(value: str) -> str:
    """ISO ``2012-04`` / ``2014-11-06`` to v1 ``April 2012`` / ``November 6, 2014``."""
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", value.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        return value
    month = _MONTHS[int(match[2]) - 1]
    if match[3]:
        return f"{month} {int(match[3])}, {match[1]}"
    return f"{month} {match[1]}"


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _each(items: Any, *path: str) -> list[Any]:
    """``path`` inside every element of a list (missing elements give None, kept for alignment)."""
    return [_get(item, *path) for item in items or []]


class _RecordBuilder:
    def __init__(self) -> None:
        self.record: V1Record = {}

    def put(self, name: str, values: Iterable[Any], convert: Callable[[str], str] | None = None):
        texts = [t for t in (_text(v) for v in values) if t is not None]
        if convert:
            texts = [convert(t) for t in texts]
        if texts:
            self.record[name] = texts

    def one(self, name: str, value: Any, convert: Callable[[str], str] | None = None) -> None:
        self.put(name, [value], convert)


def v2_to_v1(study: dict[str, Any]) -> V1Record:
    """Map one API v2 study to the v1 "study fields" record that ``registry.derive_row`` reads.

    Only fields the derivation or the diff can use are mapped; contact details are dropped.
    """
    protocol = study.get("protocolSection") or {}
    out = _RecordBuilder()
    _map_identification(out, protocol)
    _map_status(out, protocol.get("statusModule") or {})
    _map_conditions_design(out, protocol)
    _map_interventions(out, protocol.get("armsInterventionsModule") or {})
    _map_eligibility(out, protocol.get("eligibilityModule") or {})
    _map_sponsors_locations(out, protocol)
    _map_browse(out, _get(study, "derivedSection", "conditionBrowseModule"), "Condition")
    _map_browse(out, _get(study, "derivedSection", "interventionBrowseModule"), "Intervention")
    return out.record


def _map_identification(out: _RecordBuilder, protocol: dict[str, Any]) -> None:
    ident = protocol.get("identificationModule") or {}
    out.one("NCTId", ident.get("nctId"))
    out.one("BriefTitle", ident.get("briefTitle"))
    out.one("OfficialTitle", ident.get("officialTitle"))
    out.one("Acronym", ident.get("acronym"))
    out.one("OrgFullName", _get(ident, "organization", "fullName"))
    description = protocol.get("descriptionModule") or {}
    out.one("BriefSummary", description.get("briefSummary"))
    out.one("DetailedDescription", description.get("detailedDescription"))


def _map_status(out: _RecordBuilder, status: dict[str, Any]) -> None:
    out.one("OverallStatus", status.get("overallStatus"), lambda s: v1_enum(s, STATUSES))
    out.one("LastKnownStatus", status.get("lastKnownStatus"), lambda s: v1_enum(s, STATUSES))
    out.one("WhyStopped", status.get("whyStopped"))
    out.one("StatusVerifiedDate", status.get("statusVerifiedDate"), v1_date)
    for v1_name, v2_name in (
        ("StartDate", "startDateStruct"),
        ("PrimaryCompletionDate", "primaryCompletionDateStruct"),
        ("CompletionDate", "completionDateStruct"),
        ("StudyFirstPostDate", "studyFirstPostDateStruct"),
        ("LastUpdatePostDate", "lastUpdatePostDateStruct"),
        ("ResultsFirstPostDate", "resultsFirstPostDateStruct"),
    ):
        out.one(v1_name, _get(status, v2_name, "date"), v1_date)
        out.one(f"{v1_name}Type", _get(status, v2_name, "type"), lambda s: v1_enum(s, DATE_TYPES))
    out.one("StudyFirstSubmitDate", status.get("studyFirstSubmitDate"), v1_date)
    out.one("ResultsFirstSubmitDate", status.get("resultsFirstSubmitDate"), v1_date)


def _map_conditions_design(out: _RecordBuilder, protocol: dict[str, Any]) -> None:
    conditions = protocol.get("conditionsModule") or {}
    out.put("Condition", conditions.get("conditions") or [])
    out.put("Keyword", conditions.get("keywords") or [])
    design = protocol.get("designModule") or {}
    out.one("StudyType", design.get("studyType"), v1_enum)
    out.put("Phase", design.get("phases") or [], lambda p: v1_enum(p, PHASES))
    out.one("EnrollmentCount", _get(design, "enrollmentInfo", "count"))
    out.one(
        "EnrollmentType", _get(design, "enrollmentInfo", "type"), lambda s: v1_enum(s, DATE_TYPES)
    )
    info = design.get("designInfo") or {}
    out.one("DesignAllocation", info.get("allocation"), lambda s: v1_enum(s, ALLOCATIONS))
    out.one("DesignInterventionModel", info.get("interventionModel"), _assignment)
    out.one("DesignPrimaryPurpose", info.get("primaryPurpose"), v1_enum)
    out.one("DesignMasking", _get(info, "maskingInfo", "masking"), lambda s: v1_enum(s, MASKINGS))


def _assignment(value: str) -> str:
    """``PARALLEL`` -> ``Parallel Assignment`` (the v1 wording)."""
    return f"{v1_enum(value)} Assignment"


def _map_interventions(out: _RecordBuilder, arms: dict[str, Any]) -> None:
    interventions = arms.get("interventions") or []
    out.put("InterventionType", _each(interventions, "type"), v1_enum)
    out.put("InterventionName", _each(interventions, "name"))
    out.put("InterventionDescription", _each(interventions, "description"))
    out.put("InterventionOtherName", [n for i in interventions for n in i.get("otherNames") or []])
    groups = arms.get("armGroups") or []
    out.put("ArmGroupLabel", _each(groups, "label"))
    out.put("ArmGroupType", _each(groups, "type"), v1_enum)
    out.put("ArmGroupDescription", _each(groups, "description"))


def _map_eligibility(out: _RecordBuilder, eligibility: dict[str, Any]) -> None:
    out.one("EligibilityCriteria", eligibility.get("eligibilityCriteria"))
    out.one("Gender", eligibility.get("sex"), v1_enum)
    out.one("MinimumAge", eligibility.get("minimumAge"))
    out.one("MaximumAge", eligibility.get("maximumAge"))
    out.put("StdAge", eligibility.get("stdAges") or [], v1_enum)
    healthy = eligibility.get("healthyVolunteers")
    if healthy is not None:
        out.one("HealthyVolunteers", "Accepts Healthy Volunteers" if healthy else "No")


def _map_sponsors_locations(out: _RecordBuilder, protocol: dict[str, Any]) -> None:
    sponsors = protocol.get("sponsorCollaboratorsModule") or {}
    out.one("LeadSponsorName", _get(sponsors, "leadSponsor", "name"))
    out.one("LeadSponsorClass", _get(sponsors, "leadSponsor", "class"))
    out.put("CollaboratorName", _each(sponsors.get("collaborators"), "name"))
    out.put("CollaboratorClass", _each(sponsors.get("collaborators"), "class"))
    locations = _get(protocol, "contactsLocationsModule", "locations") or []
    out.put("LocationFacility", _each(locations, "facility"))
    out.put("LocationCity", _each(locations, "city"))
    out.put("LocationCountry", _each(locations, "country"))


def _map_browse(out: _RecordBuilder, browse: Any, prefix: str) -> None:
    if not isinstance(browse, dict):
        return
    out.put(f"{prefix}MeshId", _each(browse.get("meshes"), "id"))
    out.put(f"{prefix}MeshTerm", _each(browse.get("meshes"), "term"))
    out.put(f"{prefix}AncestorId", _each(browse.get("ancestors"), "id"))
    out.put(f"{prefix}AncestorTerm", _each(browse.get("ancestors"), "term"))
    leaves = browse.get("browseLeaves")
    out.put(f"{prefix}BrowseLeafId", _each(leaves, "id"))
    out.put(f"{prefix}BrowseLeafName", _each(leaves, "name"))
    out.put(f"{prefix}BrowseLeafRelevance", _each(leaves, "relevance"), str.lower)
    out.put(f"{prefix}BrowseBranchAbbrev", _each(browse.get("browseBranches"), "abbrev"))
    out.put(f"{prefix}BrowseBranchName", _each(browse.get("browseBranches"), "name"))


def merge_records(records: Iterable[V1Record]) -> dict[str, V1Record]:
    """One record per NCT ID; a field already filled is kept (same rule as the 2022 merge)."""
    merged: dict[str, V1Record] = {}
    for record in records:
        nct = (record.get("NCTId") or [""])[0]
        if not nct:
            continue
        target = merged.setdefault(nct, {})
        for name, values in record.items():
            target.setdefault(name, values)
    return {nct: merged[nct] for nct in sorted(merged)}


# --------------------------------------------------------------------------------------------
# Deterministic raw file
# --------------------------------------------------------------------------------------------


def snapshot_bytes(snapshot: dict[str, V1Record]) -> bytes:
    """Gzip of the sorted JSON with a zero timestamp and no file name: same input, same bytes."""
    text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buffer.getvalue()


def write_snapshot(snapshot: dict[str, V1Record], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(snapshot_bytes(snapshot))
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------
# What changed
# --------------------------------------------------------------------------------------------

NCT, STATUS, HAS_RESULTS = "nct_id", "status", "has_results"
FM_MENTION, FM_CONTEXT = "fm_mention", "fm_context"


@dataclass
class RegistryDiff:
    """Differences between two derived registry tables (old -> new), plus FM in the new one."""

    old_count: int
    new_count: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    status_changed: list[tuple[str, str, str]] = field(default_factory=list)
    results_posted: list[str] = field(default_factory=list)
    fm_condition: list[str] = field(default_factory=list)
    fm_eligibility: list[tuple[str, str]] = field(default_factory=list)  # (nct, context)
    incomplete_terms: list[str] = field(default_factory=list)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value) and not pd.isna(value)


def _label(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def diff_registries(old_df: pd.DataFrame, new_df: pd.DataFrame) -> RegistryDiff:
    """Trials added, removed, with a new status or newly posted results; FM in the new table.

    Both tables come from :func:`mscfm.registry.derive_table`, so FM uses its rules: ``fm_mention``
    "condition" (FM named among the conditions, keywords or titles) and "eligibility" (FM named in
    the eligibility text, with ``fm_context`` saying inclusion or exclusion).
    """
    old = old_df.set_index(NCT, drop=False)
    new = new_df.set_index(NCT, drop=False)
    diff = RegistryDiff(old_count=len(old), new_count=len(new))
    diff.added = sorted(set(new.index) - set(old.index))
    diff.removed = sorted(set(old.index) - set(new.index))
    for nct in sorted(set(old.index) & set(new.index)):
        before, after = _label(old.at[nct, STATUS]), _label(new.at[nct, STATUS])
        if before != after:
            diff.status_changed.append((nct, before, after))
    had_results = {nct for nct in old.index if _truthy(old.at[nct, HAS_RESULTS])}
    diff.results_posted = sorted(
        nct for nct in new.index if _truthy(new.at[nct, HAS_RESULTS]) and nct not in had_results
    )
    mention = new[FM_MENTION].map(_label)
    diff.fm_condition = sorted(new.index[mention == "condition"])
    diff.fm_eligibility = sorted(
        (nct, _label(new.at[nct, FM_CONTEXT])) for nct in new.index[mention == "eligibility"]
    )
    return diff


def format_diff(diff: RegistryDiff, old_label: str, new_label: str) -> str:
    """A short markdown report of :class:`RegistryDiff`."""
    lines = [
        "# ClinicalTrials.gov registry: what changed",
        "",
        f"- previous: `{old_label}` ({diff.old_count} trials)",
        f"- new: `{new_label}` ({diff.new_count} trials)",
        "",
    ]
    if diff.incomplete_terms:
        lines += [
            "**Incomplete download** (stopped by --max-pages) for: "
            + ", ".join(f"`{t}`" for t in diff.incomplete_terms)
            + ". Trials missing from the new data are not necessarily removed from the registry.",
            "",
        ]
    lines += _section("Added", diff.added)
    lines += _section("Removed (no longer found by the searches)", diff.removed)
    lines += _section(
        "Status changed",
        [f"{nct}: {old or '(none)'} → {new}" for nct, old, new in diff.status_changed],
    )
    lines += _section("Results newly posted", diff.results_posted)
    lines += _section("Fibromyalgia as a condition (new data)", diff.fm_condition)
    lines += _section(
        "Fibromyalgia in the eligibility criteria (new data)",
        [f"{nct} ({context or 'section unclear'})" for nct, context in diff.fm_eligibility],
    )
    return "\n".join(lines).rstrip() + "\n"


def _section(title: str, items: Sequence[str]) -> list[str]:
    lines = [f"## {title} ({len(items)})", ""]
    lines += [f"- {item}" for item in items] if items else ["None."]
    return lines + [""]


# --------------------------------------------------------------------------------------------
# The whole refresh
# --------------------------------------------------------------------------------------------

_SNAPSHOT_NAME = re.compile(r"ctgov_.*?(\d{4}-\d{2}(?:-\d{2})?)\.json\.gz$")


@dataclass
class RefreshResult:
    raw_path: Path
    table_path: Path
    diff_path: Path
    previous_path: Path | None
    diff: RegistryDiff
    report: str


def current_snapshot(raw_dir: Path, *, exclude: Path | None = None) -> Path | None:
    """The newest ``ctgov_*<date>.json.gz`` in ``raw_dir`` (by the date in its name)."""
    dated = []
    for path in Path(raw_dir).glob("ctgov_*.json.gz"):
        match = _SNAPSHOT_NAME.search(path.name)
        if match and (exclude is None or path.resolve() != Path(exclude).resolve()):
            dated.append((match[1], path.name, path))
    return max(dated)[2] if dated else None


def _display(path: Path | None, out_dir: Path) -> str:
    if path is None:
        return "(none)"
    try:
        return str(Path("data") / Path(path).resolve().relative_to(Path(out_dir).resolve()))
    except ValueError:
        return str(path)


def refresh(
    out_dir: Path,
    client: CtgovClient | None = None,
    today: dt.date | None = None,
    *,
    terms: Sequence[str] = SEARCH_TERMS,
    max_pages: int | None = None,
    resume: bool = True,
    previous: Path | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """Download the searches, write the dated raw file, derived table and diff report.

    ``out_dir`` is the data folder: the raw file goes to ``out_dir/raw/ctgov_v2_<date>.json.gz``,
    the table to ``out_dir/registry_<date>.csv`` and the report next to the raw file.
    """
    if max_pages is not None and max_pages < 1:
        raise RefreshError(f"--max-pages must be at least 1, got {max_pages}")
    out_dir = Path(out_dir)
    today = today or dt.date.today()
    raw_path = out_dir / "raw" / f"ctgov_v2_{today.isoformat()}.json.gz"
    previous = previous or current_snapshot(out_dir / "raw", exclude=raw_path)
    client = client or CtgovClient()
    download = partial_dir(out_dir, today)
    try:
        states = [
            download_term(
                client, t, download, max_pages=max_pages, resume=resume, progress=progress
            )
            for t in terms
        ]
    except NetworkUnavailable as exc:
        keeps = _display(previous, out_dir) if previous else "the snapshot it has"
        raise RefreshError(
            f"cannot reach clinicaltrials.gov: {exc.reason}; "
            f"the registry chapter keeps using {keeps}"
        ) from None
    finally:
        if progress:
            progress("")  # clear the progress line before anything else is printed
    if progress:
        found = sum(state.studies for state in states)
        progress(f"downloaded {len(terms)} search terms, {found} study records\n")

    studies = (study for term in terms for study in read_term_pages(download, term))
    snapshot = merge_records(v2_to_v1(study) for study in studies)
    write_snapshot(snapshot, raw_path)
    new_df = registry.derive_table(snapshot)
    table_path = out_dir / f"registry_{today.isoformat()}.csv"
    registry.write_registry(new_df, table_path)

    old_df = _previous_table(previous)
    diff = diff_registries(old_df, new_df)
    diff.incomplete_terms = [s.term for s in states if not s.complete]
    report = format_diff(diff, _display(previous, out_dir), _display(raw_path, out_dir))
    diff_path = raw_path.with_name(f"ctgov_v2_{today.isoformat()}_diff.md")
    diff_path.write_text(report, encoding="utf-8")
    if not diff.incomplete_terms:
        shutil.rmtree(download, ignore_errors=True)  # finished: the pages are in the raw file
    return RefreshResult(raw_path, table_path, diff_path, previous, diff, report)


def _previous_table(previous: Path | None) -> pd.DataFrame:
    if previous is None:
        return pd.DataFrame(columns=list(registry.COLUMNS))
    return registry.derive_table(registry.load_snapshot(previous))


# --------------------------------------------------------------------------------------------
# Replaying recorded responses (tests, and demonstrations without network)
# --------------------------------------------------------------------------------------------


def fixture_handler(folder: Path) -> Callable[[httpx.Request], httpx.Response]:
    """Answer requests from ``folder/<term-slug>/<token>.json``; the first page is ``page-1``.

    The recorded ``nextPageToken`` values are the stems of the following files, so paging works
    as it does against the real API. An unknown term gets an empty page.
    """
    folder = Path(folder)

    def handler(request: httpx.Request) -> httpx.Response:
        term = request.url.params.get("query.term", "")
        token = request.url.params.get("pageToken") or "page-1"
        path = folder / term_slug(term) / f"{Path(token).name}.json"
        if not path.is_file():
            if token == "page-1":
                return httpx.Response(200, json={"studies": []})
            return httpx.Response(400, text=f"unknown pageToken {token}")
        return httpx.Response(200, content=path.read_bytes(), headers=_JSON_HEADERS)

    return handler


def fixture_transport(folder: Path) -> httpx.MockTransport:
    """An httpx transport replaying the recorded responses in ``folder``."""
    return httpx.MockTransport(fixture_handler(folder))


_JSON_HEADERS = {"Content-Type": "application/json"}


def client_from_environment(**kwargs: Any) -> CtgovClient:
    """A real client, or one replaying recordings when ``MSCFM_CTGOV_FIXTURES`` names a folder."""
    folder = os.environ.get(FIXTURES_ENV)
    if not folder:
        return CtgovClient(**kwargs)
    if not Path(folder).is_dir():
        raise RefreshError(f"{FIXTURES_ENV}={folder}: no such folder of recorded responses")
    kwargs.setdefault("requests_per_minute", None)  # nothing to be polite to
    return CtgovClient(transport=fixture_transport(Path(folder)), **kwargs)


__all__ = [
    "API_URL",
    "SEARCH_TERMS",
    "CtgovClient",
    "RateLimiter",
    "RefreshError",
    "RefreshResult",
    "RegistryDiff",
    "RetryPolicy",
    "diff_registries",
    "download_term",
    "fixture_handler",
    "fixture_transport",
    "format_diff",
    "refresh",
    "v2_to_v1",
]
