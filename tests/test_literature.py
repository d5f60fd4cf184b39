"""`mscfm search-literature` offline, on hand-made answers in the real formats.

Where each shape comes from (see tests/fixtures/literature/README.md):
- PubMed esearch with the history server: biopython/biopython, Tests/Entrez/esearch2.xml;
- PubMed efetch XML: biopython/biopython, Tests/Entrez/pubmed1.xml and pubmed5.xml;
- Europe PMC REST search JSON (resultType=core, cursorMark paging): JonasHeinickeBio/pyEuropePMC,
  tests/fixtures/search_cancer_core.json and search_cancer_page2.json.
The transport is an ``httpx.MockTransport``; ``sleep`` and the clock are fakes, so nothing waits.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mscfm import literature
from mscfm.cli import literature as cli_literature
from mscfm.cli import main
from mscfm.literature import europepmc, pubmed
from mscfm.literature.client import LiteratureClient, LiteratureError, NetworkUnavailable
from mscfm.literature.records import Record

FIXTURES = Path(__file__).parent / "fixtures" / "literature"
ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 12, 2)
PAGE = 2  # records per request: the fixtures hold two PubMed pages (2 + 1)


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def replay(request: httpx.Request) -> httpx.Response:
    """The recorded answer for a request, chosen by endpoint and paging parameter."""
    params = request.url.params
    path = request.url.path
    if path.endswith("esearch.fcgi"):
        return httpx.Response(200, content=_fixture("esearch_history.xml"))
    if path.endswith("efetch.fcgi"):
        page = {"0": "efetch_page1.xml", "2": "efetch_page2.xml"}[params["retstart"]]
        return httpx.Response(200, content=_fixture(page))
    if path.endswith("/rest/search"):
        page = {"*": "europepmc_page1.json", "AoIIFixtureMark1": "europepmc_page2.json"}
        return httpx.Response(200, content=_fixture(page[params["cursorMark"]]),
                              headers={"Content-Type": "application/json"})
    return httpx.Response(404, text="no fixture")


class Recorder:
    """A transport handler that logs every request and can answer some of them first."""

    def __init__(self, scripted: list[Callable[[httpx.Request], httpx.Response]] | None = None):
        self.requests: list[httpx.Request] = []
        self.scripted = list(scripted or [])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.scripted:
            return self.scripted.pop(0)(request)
        return replay(request)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(handler: Callable[[httpx.Request], httpx.Response], time: FakeTime | None = None,
                api_key: str | None = "", **kw) -> LiteratureClient:
    time = time or FakeTime()
    return LiteratureClient(transport=httpx.MockTransport(handler), api_key=api_key,
                            sleep=time.sleep, clock=time.clock, **kw)


STRATEGIES = [literature.Strategy("L01", "PubMed/MEDLINE",
                                  "fibromyalg*[tiab] AND mesenchymal[tiab]"),
              literature.Strategy("L03", "Europe PMC (incl. preprints)",
                                  "TITLE:fibromyalg* AND TITLE:mesenchymal")]


# --------------------------------------------------------------------------- paging


def test_pubmed_pages_through_the_history_server() -> None:
    recorder = Recorder()
    pages = list(pubmed.search(make_client(recorder), "q", page_size=2))
    assert [name for name, _, _ in pages] == ["esearch", "efetch-001", "efetch-002"]
    esearch, *efetch = recorder.requests
    assert esearch.url.params["usehistory"] == "y" and esearch.url.params["term"] == "q"
    assert [r.url.params["retstart"] for r in efetch] == ["0", "2"]
    assert {r.url.params["WebEnv"] for r in efetch} == {"MCID_fixture0000000000000000"}
    records = [rec for _, _, recs in pages for rec in recs]
    assert [r.pmid for r in records] == ["99000001", "99000002", "99000003"]
    first, second, third = records
    assert (first.doi, first.year, first.journal, first.first_author) == (
        "10.99999/fixture.1", "2024", "Fixture J Pain", "Placeholder A")
    # DOI only in ELocationID, a MedlineDate, inline markup in the title, a group author
    assert (second.doi, second.year, second.first_author) == (
        "10.99999/Fixture.2", "2023", "Fixture Study Group")
    assert second.title == "Fixture review two: secretome and exosomes for chronic pain."
    assert third.doi == "" and third.year == "2022"


def test_pubmed_max_pages_stops_early() -> None:
    pages = list(pubmed.search(make_client(Recorder()), "q", page_size=2, max_pages=1))
    assert [name for name, _, _ in pages] == ["esearch", "efetch-001"]


def test_europepmc_pages_with_cursor_mark_until_it_repeats() -> None:
    recorder = Recorder()
    pages = list(europepmc.search(make_client(recorder), "q", page_size=3, max_pages=5))
    assert [r.url.params["cursorMark"] for r in recorder.requests] == ["*", "AoIIFixtureMark1"]
    assert {r.url.params["format"] for r in recorder.requests} == {"json"}
    assert {r.url.params["resultType"] for r in recorder.requests} == {"core"}
    records = [rec for _, _, recs in pages for rec in recs]
    assert [r.europepmc_ids for r in records] == [
        {"MED:99000001"}, {"PMC:PMC9900002"}, {"PPR:PPR999001"}, {"PPR:PPR999004"}]
    assert [r.preprint for r in records] == [False, False, True, True]
    assert europepmc.parse_page(_fixture("europepmc_page1.json"))[0] == 4


def test_europepmc_error_document_is_an_error_not_an_empty_result() -> None:
    with pytest.raises(LiteratureError, match="no hitCount"):
        europepmc.parse_page(b'{"error": "Bad request", "message": "invalid query"}')


def test_pubmed_query_error_is_reported() -> None:
    body = b"<eSearchResult><ERROR>Invalid query</ERROR></eSearchResult>"
    with pytest.raises(LiteratureError, match="Invalid query"):
        pubmed.parse_esearch(body)


# --------------------------------------------------------------------------- politeness


def test_retry_on_429_honours_retry_after_then_succeeds() -> None:
    time = FakeTime()
    recorder = Recorder([lambda r: httpx.Response(429, headers={"Retry-After": "7"}),
                         lambda r: httpx.Response(503)])
    answer = make_client(recorder, time).get(europepmc.SEARCH_URL, {"query": "q",
                                                                    "cursorMark": "*"})
    assert b"hitCount" in answer.body and len(recorder.requests) == 3
    assert 7.0 in time.sleeps  # the server's wait, not our backoff
    assert 2.0 in time.sleeps  # backoff after the 503 (second attempt: 2 x base 1 s)


def test_gives_up_after_max_attempts_with_one_line() -> None:
    recorder = Recorder([lambda r: httpx.Response(500)] * 10)
    client = make_client(recorder, retry=literature.client.RetryPolicy(max_attempts=3))
    with pytest.raises(LiteratureError, match="after 3 attempts") as info:
        client.get(europepmc.SEARCH_URL, {"query": "q"})
    assert "\n" not in str(info.value) and len(recorder.requests) == 3


def test_api_key_from_environment_is_sent_and_raises_the_rate(monkeypatch) -> None:
    monkeypatch.setenv("NCBI_API_KEY", "fixture-key")
    recorder = Recorder()
    time = FakeTime()
    client = LiteratureClient(transport=httpx.MockTransport(recorder), sleep=time.sleep,
                              clock=time.clock)
    list(pubmed.search(client, "q", page_size=2))
    ncbi_sleeps = list(time.sleeps)
    list(europepmc.search(client, "q"))
    ncbi = [r for r in recorder.requests if r.url.host == "eutils.ncbi.nlm.nih.gov"]
    assert ncbi and {r.url.params.get("api_key") for r in ncbi} == {"fixture-key"}
    epmc = [r for r in recorder.requests if r.url.host == "www.ebi.ac.uk"]
    assert epmc and all("api_key" not in r.url.params for r in epmc)
    assert client.per_second("eutils.ncbi.nlm.nih.gov") == 10.0
    # three NCBI requests back to back at 10 a second: waits of 0.1 s, not 1/3 s
    assert ncbi_sleeps == [pytest.approx(0.1)] * 2


def test_without_api_key_ncbi_is_kept_to_three_a_second(monkeypatch) -> None:
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    time = FakeTime()
    recorder = Recorder()
    client = LiteratureClient(transport=httpx.MockTransport(recorder), sleep=time.sleep,
                              clock=time.clock)
    list(pubmed.search(client, "q", page_size=2))
    assert all("api_key" not in r.url.params for r in recorder.requests)
    assert time.sleeps == [pytest.approx(1 / 3)] * 2


# --------------------------------------------------------------------------- dedupe, store, diff


def test_dedupe_across_sources_by_pmid_then_doi_then_title(tmp_path: Path) -> None:
    result = literature.search_literature(tmp_path, STRATEGIES, make_client(Recorder()), DAY,
                                          page_size=PAGE)
    assert result.counts == {"L01": (3, 3), "L03": (4, 4)}
    by_key = {literature.record_key(r): r for r in result.records}
    assert list(by_key) == ["pmid:99000001", "pmid:99000002", "pmid:99000003",
                            "doi:10.99999/fixture.4"]
    assert by_key["pmid:99000001"].sources == {"PubMed", "Europe PMC"}  # same PMID
    assert by_key["pmid:99000002"].europepmc_ids == {"PMC:PMC9900002"}  # same DOI
    three = by_key["pmid:99000003"]  # same normalised title, a preprint
    assert three.europepmc_ids == {"PPR:PPR999001"} and three.strategies == {"L01", "L03"}
    assert not three.preprint  # the journal copy wins
    assert by_key["doi:10.99999/fixture.4"].preprint


def test_dedupe_title_match_ignores_case_punctuation_and_accents() -> None:
    a = Record("Células madre: a STUDY.", sources={"PubMed"})
    b = Record("celulas madre a study", sources={"Europe PMC"})
    assert len(literature.deduplicate([a, b])) == 1
    assert len(literature.deduplicate([a, Record("Células madre: another study")])) == 2


def test_raw_answers_table_and_no_key_on_disk(tmp_path: Path) -> None:
    client = make_client(Recorder(), api_key="secret-key")
    result = literature.search_literature(tmp_path, STRATEGIES, client, DAY, page_size=PAGE)
    raw = tmp_path / "raw" / "literature" / "2026-12-02"
    assert result.raw_dir == raw
    assert sorted(p.name for p in (raw / "L01").iterdir()) == [
        "efetch-001.xml", "efetch-002.xml", "esearch.xml", "manifest.json"]
    assert (raw / "L03" / "page-001.json").read_bytes() == _fixture("europepmc_page1.json")
    assert not any("secret-key" in p.read_text(encoding="utf-8")
                   for p in raw.rglob("*") if p.is_file())
    with result.table_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert result.table_path.name == "literature_2026-12-02.csv" and len(rows) == 4
    assert rows[0]["sources"] == "Europe PMC; PubMed" and rows[0]["strategies"] == "L01; L03"


def test_a_second_run_on_the_same_day_replaces_that_days_answers(tmp_path: Path) -> None:
    literature.search_literature(tmp_path, STRATEGIES, make_client(Recorder()), DAY,
                                 page_size=PAGE)
    literature.search_literature(tmp_path, STRATEGIES, make_client(Recorder()), DAY,
                                 page_size=PAGE, max_pages=1)
    folder = tmp_path / "raw" / "literature" / "2026-12-02" / "L01"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [entry["file"] for entry in manifest] == ["esearch.xml", "efetch-001.xml"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "efetch-001.xml", "esearch.xml", "manifest.json"]


def test_diff_against_the_previous_run(tmp_path: Path) -> None:
    only_pubmed = [STRATEGIES[0]]
    literature.search_literature(tmp_path, only_pubmed, make_client(Recorder()),
                                 dt.date(2026, 11, 1), page_size=PAGE)
    result = literature.search_literature(tmp_path, STRATEGIES, make_client(Recorder()), DAY,
                                          page_size=PAGE)
    assert result.previous_path == tmp_path / "literature_2026-11-01.csv"
    assert result.diff.added == ["doi:10.99999/fixture.4"]
    assert result.diff.removed == [] and result.diff.unchanged == 3
    assert "## Added (new, to screen): 1" in result.report
    assert "Fixture preprint four" in result.diff_path.read_text(encoding="utf-8")
    again = literature.search_literature(tmp_path, only_pubmed, make_client(Recorder()),
                                         dt.date(2026, 12, 3), page_size=PAGE)
    assert again.previous_path == result.table_path and again.diff.removed == [
        "doi:10.99999/fixture.4"]


# --------------------------------------------------------------------------- no network, CLI


def _offline(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)


def test_no_network_is_one_line_and_names_the_strategy(tmp_path: Path) -> None:
    time = FakeTime()
    client = make_client(_offline, time)
    with pytest.raises(LiteratureError) as info:
        literature.search_literature(tmp_path, STRATEGIES, client, DAY)
    message = str(info.value)
    assert message.startswith("cannot reach eutils.ncbi.nlm.nih.gov") and "\n" not in message
    assert "L01 not run" in message and "not yet run" in message
    assert info.value.exit_code == 4 and not isinstance(info.value, NetworkUnavailable)
    assert not (tmp_path / "literature_2026-12-02.csv").exists()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "strategies.csv").write_bytes((ROOT / "data" / "strategies.csv").read_bytes())
    return folder


def test_cli_without_network_exits_non_zero_with_one_line(data_dir, monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli_literature, "make_client", lambda: make_client(_offline))
    code = main(["search-literature", "--out", str(data_dir)])
    err = capsys.readouterr().err
    assert code == 4 and err.count("\n") == 1 and "cannot reach" in err


def test_cli_runs_the_strategies_of_the_table(data_dir, monkeypatch, capsys) -> None:
    recorder = Recorder()
    monkeypatch.setattr(cli_literature, "make_client", lambda: make_client(recorder))
    code = main(["search-literature", "--out", str(data_dir), "--strategies", "L01", "L03",
                 "--page-size", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "wrote records table" in out
    sent = {r.url.params.get("term") or r.url.params.get("query") for r in recorder.requests
            if not r.url.path.endswith("efetch.fcgi")}
    with (data_dir / "strategies.csv").open(encoding="utf-8", newline="") as handle:
        queries = {row["id"]: row["query"] for row in csv.DictReader(handle)}
    assert sent == {queries["L01"], queries["L03"]}  # the exact strings of the table


def test_cli_refuses_unknown_or_unrunnable_strategy(data_dir, capsys) -> None:
    assert main(["search-literature", "--out", str(data_dir), "--strategies", "L07"]) == 4
    assert "no PubMed or Europe PMC strategy with id L07" in capsys.readouterr().err
    assert main(["search-literature", "--out", str(data_dir), "--max-pages", "0"]) == 4


def test_every_runnable_strategy_is_pubmed_or_europepmc() -> None:
    ids = [s.id for s in literature.load_strategies(ROOT / "data")]
    assert ids == ["L01", "L02", "L03", "L04"]
