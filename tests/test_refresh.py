"""Offline tests of the ClinicalTrials.gov API v2 client (`mscfm.refresh`).

All HTTP goes through ``httpx.MockTransport`` and the hand-made recordings in
``tests/fixtures/ctgov_v2`` (see the README there); ``sleep`` and the clock are fakes, so nothing
waits and nothing touches the network.

The shape of those recordings is checked against a real API v2 answer: a ``GET /api/v2/studies``
page of 10 studies (2 with results) recorded in the public repository Nick-Joseph/capybara,
``lib/services/dummydatat.dart``, commit 3491a90f17c56e280c91985b3e60d23a2430122c. Its leaf paths
and JSON types (no values) are in ``tests/fixtures/ctgov_v2/real_v2_paths.txt``;
``test_fixture_fields_have_the_shape_of_a_real_v2_answer`` requires every path of the fixtures to
be one of them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
from ctgov_replay import replay_handler, replay_transport

from mscfm import cli, refresh, registry
from mscfm.refresh import CtgovClient, RateLimiter, RefreshError, RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures" / "ctgov_v2"
TERM = "mesenchymal stem"
TERMS = ["mesenchymal stem", "mesenchymal stromal"]
TODAY = dt.date(2025, 1, 2)
CONTACT_MARKERS = (
    "centralContacts",
    "overallOfficials",
    '"contacts"',
    "Jane Fixture",
    "John Fixture",
    "Ann Fixture",
    "@example.org",
    "+00 ",
)


class FakeTime:
    """A clock that only moves when someone sleeps; remembers every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


class Recorder:
    """A MockTransport handler: scripted answers first, then the recorded fixtures."""

    def __init__(self, *scripted) -> None:
        self.scripted = list(scripted)
        self.requests: list[httpx.Request] = []
        self._fixtures = replay_handler(FIXTURES)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.scripted:
            answer = self.scripted.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if answer is not None:
                return answer
        return self._fixtures(request)

    @property
    def tokens(self) -> list[str | None]:
        return [r.url.params.get("pageToken") for r in self.requests]


def make_client(handler, fake: FakeTime, *, attempts: int = 4, rpm: float | None = None):
    return CtgovClient(
        transport=httpx.MockTransport(handler),
        sleep=fake.sleep,
        clock=fake.clock,
        requests_per_minute=rpm,
        retry=RetryPolicy(max_attempts=attempts, base_delay=1.0, max_delay=8.0),
    )


def fixture_page(term_slug: str, number: int) -> dict:
    return json.loads((FIXTURES / term_slug / f"page-{number}.json").read_text(encoding="utf-8"))


def fixture_study(nct: str) -> dict:
    for path in sorted(FIXTURES.glob("*/page-*.json")):
        for study in json.loads(path.read_text(encoding="utf-8"))["studies"]:
            if study["protocolSection"]["identificationModule"]["nctId"] == nct:
                return study
    raise AssertionError(f"{nct} is not in the fixtures")


def old_snapshot_in(data_dir: Path) -> Path:
    """Put the fixture's old v1 snapshot where the real one lives (gzipped, dated name)."""
    target = data_dir / "raw" / "ctgov_msc_2022-10.json.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress((FIXTURES / "old_snapshot_v1.json").read_bytes()))
    return target


# --- paging, retries, rate limit ---------------------------------------------------------------


def test_paging_follows_next_page_token_to_the_end(tmp_path):
    fake, recorder = FakeTime(), Recorder()
    state = refresh.download_term(make_client(recorder, fake), TERM, tmp_path)

    assert recorder.tokens == [None, "page-2", "page-3"]
    assert state.complete and state.pages == 3
    expected = sum(len(fixture_page("mesenchymal-stem", n)["studies"]) for n in (1, 2, 3))
    assert state.studies == expected
    assert sorted(p.name for p in (tmp_path / "mesenchymal-stem").glob("page-*.json")) == [
        "page-0001.json",
        "page-0002.json",
        "page-0003.json",
    ]
    params = recorder.requests[0].url.params
    assert params["query.term"] == TERM
    assert params["format"] == "json"
    assert params["pageSize"] == str(refresh.DEFAULT_PAGE_SIZE)
    assert str(recorder.requests[0].url).startswith(refresh.API_URL)
    assert fake.sleeps == []


def test_server_error_is_retried_then_succeeds():
    fake = FakeTime()
    recorder = Recorder(httpx.Response(500, text="Internal Server Error"))
    page = make_client(recorder, fake).fetch_page(TERM)

    assert len(recorder.requests) == 2
    assert fake.sleeps == [1.0]  # first backoff step
    assert page == fixture_page("mesenchymal-stem", 1)


def test_rate_limit_answer_honours_retry_after():
    fake = FakeTime()
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"))
    page = make_client(recorder, fake).fetch_page(TERM)

    assert fake.sleeps == [7.0]
    assert page["nextPageToken"] == "page-2"


def test_retry_after_as_http_date():
    now = dt.datetime(2025, 1, 2, 12, 0, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=90), usegmt=True)
    assert refresh.parse_retry_after(later, now=now) == 90.0
    assert refresh.parse_retry_after("not a date") is None


def test_truncated_json_is_retried():
    fake = FakeTime()
    body = (FIXTURES / "mesenchymal-stem" / "page-1.json").read_bytes()
    recorder = Recorder(httpx.Response(200, content=body[: len(body) // 2]))
    page = make_client(recorder, fake).fetch_page(TERM)

    assert len(recorder.requests) == 2
    assert fake.sleeps == [1.0]
    assert page["nextPageToken"] == "page-2"


def test_persistent_truncated_json_is_a_clear_error_after_capped_backoff():
    fake = FakeTime()
    truncated = httpx.Response(200, content=b'{"studies": [{"protocolSection": {')
    recorder = Recorder(*[truncated] * 6)
    client = make_client(recorder, fake, attempts=6)

    with pytest.raises(RefreshError, match=r"after 6 attempts: invalid JSON body") as caught:
        client.fetch_page(TERM)
    assert "mesenchymal stem" in str(caught.value)
    assert len(recorder.requests) == 6
    assert fake.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]  # doubles, then stays at the cap


def test_client_error_is_not_retried():
    fake = FakeTime()
    recorder = Recorder(httpx.Response(400, text="Parameter `pageSize` has incorrect format"))
    with pytest.raises(RefreshError, match="HTTP 400: Parameter `pageSize`"):
        make_client(recorder, fake).fetch_page(TERM)
    assert len(recorder.requests) == 1
    assert fake.sleeps == []


def test_rate_limiter_spaces_requests():
    fake = FakeTime()
    limiter = RateLimiter(50, clock=fake.clock, sleep=fake.sleep)
    limiter.wait()
    limiter.wait()
    fake.now += 0.5  # half a second of work between two requests
    limiter.wait()
    assert fake.sleeps == pytest.approx([1.2, 0.7])


def test_client_respects_the_rate_limit_between_pages(tmp_path):
    fake = FakeTime()
    refresh.download_term(make_client(Recorder(), fake, rpm=50), TERM, tmp_path)
    assert fake.sleeps == pytest.approx([1.2, 1.2])


# --- resuming --------------------------------------------------------------------------------


def test_interrupted_download_resumes_without_refetching(tmp_path):
    fake = FakeTime()
    dropped = httpx.ConnectError("connection reset")
    first = Recorder(None, None, *[dropped] * 4)  # pages 1 and 2 arrive, then the line drops
    with pytest.raises(refresh.NetworkUnavailable, match="connection reset"):
        refresh.download_term(make_client(first, fake), TERM, tmp_path)
    state = json.loads((tmp_path / "mesenchymal-stem" / "state.json").read_text())
    assert (state["pages"], state["next_page_token"], state["complete"]) == (2, "page-3", False)

    second = Recorder()
    result = refresh.download_term(make_client(second, FakeTime()), TERM, tmp_path)
    assert second.tokens == ["page-3"]
    assert result.complete and result.pages == 3
    nct_ids = [
        s["protocolSection"]["identificationModule"]["nctId"]
        for s in refresh.read_term_pages(tmp_path, TERM)
    ]
    expected = [
        s["protocolSection"]["identificationModule"]["nctId"]
        for n in (1, 2, 3)
        for s in fixture_page("mesenchymal-stem", n)["studies"]
    ]
    assert nct_ids == expected


def test_no_resume_starts_over(tmp_path):
    refresh.download_term(make_client(Recorder(), FakeTime()), TERM, tmp_path, max_pages=2)
    again = Recorder()
    refresh.download_term(make_client(again, FakeTime()), TERM, tmp_path, resume=False)
    assert again.tokens == [None, "page-2", "page-3"]


# --- v2 -> v1 ----------------------------------------------------------------------------------


def test_v2_to_v1_maps_a_recruiting_trial():
    record = refresh.v2_to_v1(fixture_study("NCT99000001"))
    assert record["NCTId"] == ["NCT99000001"]
    assert record["OverallStatus"] == ["Recruiting"]
    assert record["Phase"] == ["Phase 1", "Phase 2"]
    assert record["StartDate"] == ["March 2021"]
    assert record["StartDateType"] == ["Actual"]
    assert record["EnrollmentCount"] == ["40"]
    assert record["EnrollmentType"] == ["Anticipated"]
    assert record["Condition"] == ["Knee Osteoarthritis"]
    assert record["InterventionName"] == ["Allogeneic bone marrow MSC", "Hyaluronic acid"]
    assert record["InterventionType"] == ["Biological", "Drug"]
    assert record["InterventionOtherName"] == ["allo-BM-MSC"]
    assert record["LocationCountry"] == ["Spain", "Spain"]
    assert record["LeadSponsorName"] == ["Fixture University Hospital"]
    assert record["ConditionMeshTerm"] == ["Osteoarthritis, Knee"]
    assert record["ConditionBrowseLeafRelevance"] == ["high", "low"]
    assert record["HealthyVolunteers"] == ["No"]
    assert record["EligibilityCriteria"][0].startswith("Inclusion Criteria:")
    assert "ResultsFirstPostDate" not in record


@pytest.mark.parametrize(
    ("nct", "field", "expected"),
    [
        ("NCT99000002", "OverallStatus", ["Completed"]),
        ("NCT99000002", "ResultsFirstPostDate", ["May 10, 2023"]),
        ("NCT99000002", "StartDate", ["May 14, 2019"]),
        (
            "NCT99000002",
            "OfficialTitle",
            [
                "A Hand-Made Fixture Study of Intradiscal Umbilical Cord Mesenchymal Stem Cells in"
                " Chronic Low Back Pain"
            ],
        ),
        ("NCT99000003", "Phase", ["Not Applicable"]),
        ("NCT99000003", "OverallStatus", ["Not yet recruiting"]),
        ("NCT99000004", "OverallStatus", ["Unknown status"]),
        ("NCT99000004", "Phase", ["Early Phase 1"]),
        ("NCT99000005", "Keyword", ["chronic widespread pain"]),
        ("NCT99000006", "StudyType", ["Observational"]),
        ("NCT99000006", "OverallStatus", ["Withdrawn"]),
    ],
)
def test_v2_to_v1_spellings_match_the_v1_snapshot(nct, field, expected):
    assert refresh.v2_to_v1(fixture_study(nct))[field] == expected


def test_v2_to_v1_leaves_out_what_a_study_lacks():
    record = refresh.v2_to_v1(fixture_study("NCT99000006"))
    assert "Phase" not in record and "LocationCountry" not in record
    assert registry.derive_row(record)["phase"] == ""


def test_v2_to_v1_feeds_every_field_the_derivation_reads():
    produced = {
        name
        for path in FIXTURES.glob("*/page-*.json")
        for study in json.loads(path.read_text(encoding="utf-8"))["studies"]
        for name in refresh.v2_to_v1(study)
    }
    assert set(registry.V1_FIELDS_USED) <= produced


def test_v1_date_and_enum_conversions():
    assert refresh.v1_date("2012-04") == "April 2012"
    assert refresh.v1_date("2014-11-06") == "November 6, 2014"
    assert refresh.v1_date("sometime") == "sometime"
    assert refresh.v1_enum("DIETARY_SUPPLEMENT") == "Dietary Supplement"
    assert refresh.v1_enum("ACTIVE_NOT_RECRUITING", refresh.STATUSES) == "Active, not recruiting"


# --- contacts ------------------------------------------------------------------------------------


def test_fixtures_do_carry_contacts_to_strip():
    text = (FIXTURES / "mesenchymal-stem" / "page-1.json").read_text(encoding="utf-8")
    assert all(marker in text for marker in CONTACT_MARKERS)


def test_no_contact_fields_survive_anywhere(tmp_path):
    old_snapshot_in(tmp_path)
    client = make_client(Recorder(), FakeTime())
    refresh.refresh(tmp_path, client, TODAY, terms=TERMS, max_pages=1)  # keeps the page files
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "ctgov_msc" not in p.name]
    assert any(p.name.startswith("page-") for p in written)
    for path in written:
        data = path.read_bytes()
        text = gzip.decompress(data).decode() if path.suffix == ".gz" else data.decode()
        for marker in CONTACT_MARKERS:
            assert marker not in text, f"{marker!r} found in {path.name}"


# --- the whole refresh -------------------------------------------------------------------------


def run_refresh(data_dir: Path) -> refresh.RefreshResult:
    old_snapshot_in(data_dir)
    return refresh.refresh(data_dir, make_client(Recorder(), FakeTime()), TODAY, terms=TERMS)


def test_refresh_writes_raw_file_table_and_report(tmp_path):
    result = run_refresh(tmp_path)

    assert result.raw_path == tmp_path / "raw" / "ctgov_v2_2025-01-02.json.gz"
    assert result.table_path == tmp_path / "registry_2025-01-02.csv"
    assert result.diff_path == tmp_path / "raw" / "ctgov_v2_2025-01-02_diff.md"
    assert result.previous_path == tmp_path / "raw" / "ctgov_msc_2022-10.json.gz"
    assert not refresh.partial_dir(tmp_path, TODAY).exists()  # finished: pages cleaned up

    snapshot = registry.load_snapshot(result.raw_path)  # same shape as the v1 snapshot
    assert list(snapshot) == sorted(snapshot)
    assert snapshot["NCT99000001"]["OverallStatus"] == ["Recruiting"]

    table = pd.read_csv(result.table_path, dtype=str, keep_default_na=False)
    assert list(table.columns) == list(registry.COLUMNS)
    assert list(table["nct_id"]) == [f"NCT9900000{i}" for i in range(1, 7)]
    statuses = dict(zip(table["nct_id"], table["status"], strict=True))
    assert statuses["NCT99000004"] == "Unknown status"
    assert result.diff_path.read_text(encoding="utf-8") == result.report


def test_diff_lists_added_removed_status_results_and_fm(tmp_path):
    diff = run_refresh(tmp_path).diff

    assert diff.added == ["NCT99000003", "NCT99000005", "NCT99000006"]
    assert diff.removed == ["NCT99000009"]
    assert diff.status_changed == [
        ("NCT99000002", "Active, not recruiting", "Completed"),
        ("NCT99000004", "Recruiting", "Unknown status"),
    ]
    assert diff.results_posted == ["NCT99000002"]
    assert diff.fm_condition == ["NCT99000005"]
    assert diff.fm_eligibility == [("NCT99000003", "exclusion")]
    assert diff.incomplete_terms == []


def test_report_is_readable_markdown(tmp_path):
    report = run_refresh(tmp_path).report
    assert "- previous: `data/raw/ctgov_msc_2022-10.json.gz` (4 trials)" in report
    assert "## Status changed (2)" in report
    assert "- NCT99000002: Active, not recruiting → Completed" in report
    assert "- NCT99000003 (exclusion)" in report
    assert "Incomplete download" not in report


def test_results_already_posted_are_not_new():
    old = pd.DataFrame({"nct_id": ["A"], "status": ["Completed"], "has_results": [True]})
    new = old.assign(fm_mention=["none"], fm_context=[""])
    diff = refresh.diff_registries(old, new)
    assert diff.results_posted == [] and diff.status_changed == [] and diff.added == []


def test_max_pages_marks_the_report_incomplete_and_keeps_pages(tmp_path):
    old_snapshot_in(tmp_path)
    client = make_client(Recorder(), FakeTime())
    result = refresh.refresh(tmp_path, client, TODAY, terms=TERMS, max_pages=1)
    assert result.diff.incomplete_terms == ["mesenchymal stem"]
    assert "Incomplete download" in result.report
    assert refresh.partial_dir(tmp_path, TODAY).is_dir()


def test_refresh_output_is_byte_for_byte_deterministic(tmp_path):
    first, second = run_refresh(tmp_path / "one"), run_refresh(tmp_path / "two")
    for a, b in (
        (first.raw_path, second.raw_path),
        (first.table_path, second.table_path),
        (first.diff_path, second.diff_path),
    ):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert first.raw_path.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # gzip mtime is zero


# --- no network ----------------------------------------------------------------------------------


def offline(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution")


def test_no_network_is_a_clear_error(tmp_path):
    old_snapshot_in(tmp_path)
    fake = FakeTime()
    with pytest.raises(RefreshError) as caught:
        refresh.refresh(tmp_path, make_client(offline, fake), TODAY, terms=TERMS)
    message = str(caught.value)
    assert message.startswith("cannot reach clinicaltrials.gov: ConnectError: [Errno -3]")
    assert message.endswith("the registry chapter keeps using data/raw/ctgov_msc_2022-10.json.gz")
    assert not (tmp_path / "raw" / "ctgov_v2_2025-01-02.json.gz").exists()


@pytest.fixture
def refresh_cli(monkeypatch):
    """`mscfm` with only the refresh subcommand (the lead registers it in SUBCOMMAND_MODULES)."""
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", ("refresh",))
    return cli.main


def test_cli_without_network_says_so_in_one_line(tmp_path, monkeypatch, capsys, refresh_cli):
    old_snapshot_in(tmp_path)
    monkeypatch.setattr(refresh, "CtgovClient", lambda **kw: make_client(offline, FakeTime()))
    code = refresh_cli(["refresh-registry", "--out", str(tmp_path), "--terms", TERM])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("mscfm refresh-registry: error: cannot reach clinicaltrials.gov:")
    assert "keeps using data/raw/ctgov_msc_2022-10.json.gz" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_cli_replays_recorded_responses(tmp_path, monkeypatch, capsys, refresh_cli):
    old_snapshot_in(tmp_path)
    monkeypatch.setattr(refresh, "CtgovClient", lambda **kw: CtgovClient(
        transport=replay_transport(FIXTURES), requests_per_minute=None, **kw))
    code = refresh_cli(["refresh-registry", "--out", str(tmp_path), "--terms", *TERMS])
    out = capsys.readouterr().out
    assert code == 0
    assert "## Added (3)" in out
    today = dt.date.today().isoformat()
    assert (tmp_path / f"registry_{today}.csv").is_file()
    assert f"wrote diff report: {tmp_path / 'raw' / f'ctgov_v2_{today}_diff.md'}" in out


def test_search_terms_are_the_snapshots():
    assert refresh.SEARCH_TERMS[:6] == (
        "mesenchymal stem",
        "mesenchymal stromal",
        "allogeneic mesenchymal",
        "autologous mesenchymal",
        "mesenchymal placental",
        "mesenchymal umbilical cord",
    )
    assert len(set(map(refresh.term_slug, refresh.SEARCH_TERMS))) == len(refresh.SEARCH_TERMS)


def _leaf_paths(node: object, prefix: str = "") -> set[str]:
    """``module.field[].leaf: type`` for every leaf of a JSON value."""
    if isinstance(node, dict):
        return {p for key, value in node.items() for p in _leaf_paths(value, f"{prefix}.{key}")}
    if isinstance(node, list):
        return {p for value in node for p in _leaf_paths(value, f"{prefix}[]")}
    kind = {bool: "boolean", int: "integer", float: "number", str: "string"}[type(node)]
    return {f"{prefix.lstrip('.')}: {kind}"}


def test_fixture_fields_have_the_shape_of_a_real_v2_answer():
    lines = (FIXTURES / "real_v2_paths.txt").read_text(encoding="utf-8").splitlines()
    real = {line for line in lines if line and not line.startswith("#")}
    assert len(real) > 200 and "protocolSection.identificationModule.nctId: string" in real
    pages = sorted(FIXTURES.glob("*/page-*.json"))
    fixture_paths = {p for page in pages
                     for study in json.loads(page.read_text(encoding="utf-8"))["studies"]
                     for p in _leaf_paths(study)}
    assert len(fixture_paths) > 60
    misshaped = sorted(fixture_paths - real)
    assert not misshaped, f"fixture fields not in a real v2 answer (name or type): {misshaped}"
    for page in pages:  # top level: studies and, except on the last page, nextPageToken
        assert set(json.loads(page.read_text(encoding="utf-8"))) <= {"studies", "nextPageToken"}
