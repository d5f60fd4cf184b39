"""Select and shape rows of the curated tables for the background chapters (02-06).

Pure functions: a loaded table in, a smaller or reshaped ``DataFrame`` (or a number) out. Values
are never changed, only selected, labelled and sorted, so every number shown in the book is the
number in ``data/``. Arguments a reader can set as chapter parameters are checked here, and an
unknown value raises ``ValueError`` naming the valid ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from mscfm.data.descriptor import package_dates, read_descriptor
from mscfm.labels import source_label
from mscfm.registry import CONDITION_GROUP_RULES, OTHER_GROUP

# --------------------------------------------------------------------------- shared helpers

def check_choices(values: Iterable[str], valid: Iterable[str], what: str) -> list[str]:
    """The values as a list; ValueError naming the valid ones if any value is unknown."""
    chosen = list(values)
    allowed = list(valid)
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; "
                         f"expected one of: {', '.join(map(repr, allowed))}")
    return chosen


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table} table lacks column(s) {', '.join(missing)}")


# --------------------------------------------------------------------------- prevalence (ch. 02)

PREVALENCE_TOPIC = "prevalence"
RANGE_MEASURE = "range_pct"


def prevalence_populations(pooled: pd.DataFrame) -> list[str]:
    """The populations of the prevalence rows, in file order (the valid `populations` values)."""
    rows = pooled[pooled["topic"] == PREVALENCE_TOPIC]
    return list(dict.fromkeys(rows["population"]))


def _sex(population: str) -> str:
    text = population.lower()
    if re.match(r"women\b", text):
        return "women"
    if re.match(r"men\b", text):
        return "men"
    return "all"


def _kind(measure: str, model: str) -> str:
    model = (model or "").lower()
    if measure == RANGE_MEASURE:
        return "range across studies"
    if "single population survey" in model:
        return "single survey"
    if "average" in model:
        return "average of studies"
    return "pooled estimate"


def prevalence_rows(pooled: pd.DataFrame, populations: Sequence[str] = ()) -> pd.DataFrame:
    """Prevalence rows (percent) with sex, kind of estimate and a plausibility flag.

    `populations` selects rows by their `population` text (empty = all). A row is flagged
    `implausible` when its interval reaches below zero, which no prevalence can.
    """
    _require_columns(pooled, ["topic", "population", "source", "measure", "estimate",
                              "ci_lb", "ci_ub", "model"], "pooled")
    chosen = check_choices(populations, prevalence_populations(pooled), "population")
    rows = pooled[pooled["topic"] == PREVALENCE_TOPIC].copy()
    if chosen:
        rows = rows[rows["population"].isin(chosen)]
    rows["sex"] = rows["population"].map(_sex)
    rows["kind"] = [_kind(m, mo) for m, mo in zip(rows["measure"], rows["model"].fillna(""),
                                                  strict=True)]
    rows["study"] = rows["source"].map(source_label)
    rows["label"] = rows["population"] + " - " + rows["study"]
    rows["implausible"] = rows["ci_lb"].lt(0).fillna(False).astype(bool)
    columns = ["id", "study", "source", "population", "sex", "kind", "estimate", "ci_lb",
               "ci_ub", "implausible", "label", "note"]
    return rows.loc[:, columns].reset_index(drop=True)


# --------------------------------------------------------------------------- instruments (ch. 02)


def instrument_value(instruments: pd.DataFrame, instrument: str, quantity: str) -> float:
    """The single value of `quantity` for `instrument` (ValueError if absent or ambiguous)."""
    rows = instruments[(instruments["instrument"] == instrument)
                       & (instruments["quantity"] == quantity)]
    if len(rows) != 1:
        have = sorted(set(zip(instruments["instrument"], instruments["quantity"], strict=True)))
        raise ValueError(f"expected one {instrument} {quantity!r} row in instruments, found "
                         f"{len(rows)}; available: {have}")
    return float(rows["value"].iloc[0])


def instrument_rows(instruments: pd.DataFrame, quantities: Sequence[str]) -> pd.DataFrame:
    """Rows of the given quantities (any instrument), with a short source label, sorted."""
    rows = instruments[instruments["quantity"].isin(list(quantities))].copy()
    rows["study"] = rows["source"].map(source_label)
    return rows.sort_values(["instrument", "quantity", "id"], ignore_index=True)


# --------------------------------------------------------------------------- cytokines (ch. 04)

CYTOKINE_TOPIC = "cytokine"
_SIGN_NOTE = re.compile(r"\bsign\b", re.IGNORECASE)


def _marker(outcome: str) -> str:
    """'IL-6 (plasma)' -> 'IL-6': the marker without the sample qualifier."""
    return re.sub(r"\s*\(.*\)\s*$", "", outcome)


def cytokine_markers(pooled: pd.DataFrame) -> list[str]:
    """Markers present among the cytokine rows, sorted (the valid `markers` values)."""
    rows = pooled[pooled["topic"] == CYTOKINE_TOPIC]
    return sorted(set(rows["outcome"].map(_marker)))


def cytokine_rows(pooled: pd.DataFrame, markers: Sequence[str] = ()) -> pd.DataFrame:
    """Cytokine SMDs (FM vs controls), one row per marker x meta-analysis, sorted by marker.

    `sign_uncertain` marks rows whose note questions the printed sign (Üçeyler 2011); `reading`
    says what the printed interval shows, and for those rows that the direction is uncertain.
    """
    _require_columns(pooled, ["topic", "outcome", "source", "estimate", "ci_lb", "ci_ub", "i2",
                              "note"], "pooled")
    chosen = check_choices(markers, cytokine_markers(pooled), "marker")
    rows = pooled[pooled["topic"] == CYTOKINE_TOPIC].copy()
    rows["marker"] = rows["outcome"].map(_marker)
    if chosen:
        rows = rows[rows["marker"].isin(chosen)]
    rows["study"] = rows["source"].map(source_label)
    rows["sign_uncertain"] = rows["note"].fillna("").map(lambda n: bool(_SIGN_NOTE.search(n)))
    rows["reading"] = [_reading(lb, ub, flag) for lb, ub, flag in
                       zip(rows["ci_lb"], rows["ci_ub"], rows["sign_uncertain"], strict=True)]
    rows["label"] = rows["outcome"] + " - " + rows["study"]
    columns = ["id", "marker", "outcome", "study", "source", "measure", "estimate", "ci_lb",
               "ci_ub", "i2", "sign_uncertain", "reading", "label", "note"]
    return rows.sort_values(["marker", "study"], ignore_index=True).loc[:, columns]


def _reading(lb: float, ub: float, sign_uncertain: bool) -> str:
    if sign_uncertain:
        return "direction uncertain (sign)"
    if lb > 0:
        return "higher in FM"
    if ub < 0:
        return "lower in FM"
    return "interval includes 0"


# --------------------------------------------------------------------------- registry (ch. 03, 06)

CONDITION_GROUPS: tuple[str, ...] = (*(label for label, _ in CONDITION_GROUP_RULES), OTHER_GROUP)
# The v1 overall-status wording of the snapshot (same list as data/schema/registry.schema.json).
REGISTRY_STATUSES: tuple[str, ...] = (
    "Not yet recruiting", "Recruiting", "Enrolling by invitation", "Active, not recruiting",
    "Suspended", "Terminated", "Completed", "Withdrawn", "Unknown status", "Available",
    "No longer available", "Temporarily not available", "Approved for marketing", "Withheld",
)
PHASE_ORDER: tuple[str, ...] = ("Early Phase 1", "Phase 1", "Phase 1/2", "Phase 2", "Phase 2/3",
                                "Phase 3", "Phase 4", "N/A", "not given")
COUNT_COLUMNS: tuple[str, ...] = ("condition_group", "cell_source", "donor", "phase", "status",
                                  "start_year", "countries", "has_results", "fm_mention")
NO_COUNTRY = "no site country"
NO_BOUND = 0  # a year bound of 0 means "no bound"


def filter_registry(registry: pd.DataFrame, condition_groups: Sequence[str] = (),
                    start_year_min: int = NO_BOUND, start_year_max: int = NO_BOUND,
                    statuses: Sequence[str] = ()) -> pd.DataFrame:
    """Trials of the given condition groups, start-year range and statuses (empty = all).

    A year bound of 0 means no bound. Trials without a start year are kept only when neither
    bound is set, because they cannot be placed in a range.
    """
    groups = check_choices(condition_groups, CONDITION_GROUPS, "condition group")
    chosen_statuses = check_choices(statuses, REGISTRY_STATUSES, "status")
    if start_year_min and start_year_max and start_year_min > start_year_max:
        raise ValueError(f"start_year_min ({start_year_min}) is after start_year_max "
                         f"({start_year_max})")
    keep = pd.Series(True, index=registry.index)
    if groups:
        keep &= registry["condition_group"].isin(groups)
    if chosen_statuses:
        keep &= registry["status"].isin(chosen_statuses)
    years = registry["start_year"]
    if start_year_min or start_year_max:
        low = start_year_min or int(years.min())
        high = start_year_max or int(years.max())
        keep &= years.between(low, high).fillna(False).astype(bool)
    return registry[keep].reset_index(drop=True)


def require_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials, or ValueError when a parameter selection left none (nothing to chart)."""
    if trials.empty:
        raise ValueError("the selected condition groups, years and statuses match no trial; "
                         "widen the selection")
    return trials


def phase_status_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials per phase (rows, in trial-phase order) and status (columns)."""
    table = cross_counts(require_trials(trials), "phase", "status")
    return table.loc[[p for p in PHASE_ORDER if p in table.index]]


def _count_values(registry: pd.DataFrame, by: str) -> pd.Series:
    if by == "countries":
        values = registry["countries"].fillna("").str.split(";").explode()
        return values.replace("", NO_COUNTRY)
    if by == "phase":
        return registry["phase"].fillna("").replace("", "not given")
    if by == "start_year":
        return registry["start_year"].dropna().astype(int)
    return registry[by].fillna("not given").astype(str)


def registry_counts(registry: pd.DataFrame, by: str, condition_groups: Sequence[str] = (),
                    start_year_min: int = NO_BOUND, start_year_max: int = NO_BOUND,
                    statuses: Sequence[str] = ()) -> pd.DataFrame:
    """Number of trials per value of column `by` after filtering (see :func:`filter_registry`).

    For `countries` a trial counts once for each of its site countries. Rows are sorted by count
    (descending) then value, except phase (trial-phase order) and start year (chronological).
    """
    check_choices([by], COUNT_COLUMNS, "column to count by")
    subset = filter_registry(registry, condition_groups, start_year_min, start_year_max, statuses)
    counts = _count_values(subset, by).value_counts()
    table = counts.rename_axis(by).reset_index(name="n_trials")
    if by == "phase":
        order = {p: i for i, p in enumerate(PHASE_ORDER)}
        return table.sort_values(by, key=lambda s: s.map(order), ignore_index=True)
    if by == "start_year":
        return table.sort_values(by, ignore_index=True)
    return table.sort_values(["n_trials", by], ascending=[False, True], ignore_index=True)


def top_with_rest(counts: pd.DataFrame, n: int, rest_label: str = "all others") -> pd.DataFrame:
    """The first `n` rows of a count table plus one row summing the rest (if any)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    head, tail = counts.iloc[:n], counts.iloc[n:]
    if tail.empty:
        return head.reset_index(drop=True)
    key = counts.columns[0]
    rest = pd.DataFrame({key: [rest_label], "n_trials": [int(tail["n_trials"].sum())]})
    return pd.concat([head.astype({key: str}), rest], ignore_index=True)


def cross_counts(registry: pd.DataFrame, rows: str, columns: str) -> pd.DataFrame:
    """Trials per (rows x columns) value, rows ordered by total (descending) then name."""
    check_choices([rows, columns], COUNT_COLUMNS, "column to count by")
    table = pd.crosstab(_count_values(registry, rows), _count_values(registry, columns))
    totals = table.sum(axis=1)
    order = sorted(table.index, key=lambda v: (-int(totals[v]), str(v)))
    return table.loc[order, sorted(table.columns)]


def fm_condition_trials(registry: pd.DataFrame) -> pd.DataFrame:
    """Trials that name fibromyalgia as a condition, keyword or in a title."""
    return registry[registry["fm_mention"] == "condition"].reset_index(drop=True)


def fm_exclusions(registry: pd.DataFrame) -> pd.DataFrame:
    """Trials that name fibromyalgia anywhere other than as a condition, sorted by NCT id."""
    rows = registry[~registry["fm_mention"].isin(["none", "condition"])]
    columns = ["nct_id", "title", "condition_group", "fm_mention", "fm_context"]
    return rows.loc[:, columns].sort_values("nct_id", ignore_index=True)


def chronic_pain_subset(registry: pd.DataFrame) -> pd.DataFrame:
    """Trials whose conditions or title name a chronic pain condition."""
    return registry[registry["chronic_pain"].fillna(False).astype(bool)].reset_index(drop=True)


def snapshot_month(descriptor: dict) -> str:
    """'YYYY-MM' of the raw registry snapshot named in the data package descriptor."""
    for snapshot in package_dates(descriptor).snapshots:
        if snapshot.resource == "registry":
            return snapshot.date[:7]
    raise ValueError("data/datapackage.json: the registry resource names no raw snapshot file "
                     "with a date (expected a source path like raw/ctgov_msc_2022-10.json.gz)")


def read_snapshot_month(root: Path | None = None) -> str:
    """The registry snapshot month, read from data/datapackage.json (metadata, not a table)."""
    return snapshot_month(read_descriptor(root))


DEFAULT_REGISTRY_TABLE = "data/registry.csv"
_REFRESHED_TABLE = re.compile(r"registry_(\d{4}-\d{2}-\d{2})\.csv$")


def registry_snapshot_label(registry_table: str, root: Path | None = None) -> str:
    """Which snapshot a registry table comes from: the curated October 2022 snapshot, or the date
    of a refresh (`mscfm refresh-registry` writes data/registry_<date>.csv)."""
    if registry_table == DEFAULT_REGISTRY_TABLE:
        return read_snapshot_month(root)
    match = _REFRESHED_TABLE.search(registry_table)
    if match is None:
        raise ValueError(
            f"registry table {registry_table!r}: expected {DEFAULT_REGISTRY_TABLE} or "
            "data/registry_<YYYY-MM-DD>.csv written by `mscfm refresh-registry`"
        )
    return f"{match.group(1)} (refreshed from the ClinicalTrials.gov API v2)"


# --------------------------------------------------------------------------- preclinical (ch. 05)

PRECLINICAL_SCOPE = "preclinical"


def preclinical_rows(preclinical: pd.DataFrame, include_non_fm_models: bool = True,
                     ) -> pd.DataFrame:
    """Preclinical findings, FM models first, then by id; non-FM models only if asked for."""
    rows = preclinical.copy()
    rows["fm_model"] = rows["fm_model"].fillna(False).astype(bool)
    if not include_non_fm_models:
        rows = rows[rows["fm_model"]]
    rows["study"] = rows["source"].map(source_label)
    return rows.sort_values(["fm_model", "id"], ascending=[False, True], ignore_index=True)


def msc_in_fm_models(preclinical: pd.DataFrame) -> pd.DataFrame:
    """FM-model rows whose intervention involves MSCs, stem cells or their secretome."""
    rows = preclinical_rows(preclinical, include_non_fm_models=False)
    mentions = rows["intervention"].str.contains(r"stem cell|mesenchymal|\bmsc|stromal",
                                                 case=False, regex=True)
    return rows[mentions].reset_index(drop=True)


def preclinical_searches(searches: pd.DataFrame) -> pd.DataFrame:
    """Recorded searches whose scope is preclinical, sorted by id."""
    rows = searches[searches["scope"].str.contains(PRECLINICAL_SCOPE, case=False, na=False)]
    return rows.sort_values("id", ignore_index=True)


CRP_TOPIC = "crp"


def crp_rows(pooled: pd.DataFrame) -> pd.DataFrame:
    """C-reactive protein in people with and without FM (topic ``crp``), with study names."""
    rows = pooled[pooled["topic"] == CRP_TOPIC].copy()
    rows["study"] = rows["source"].map(source_label)
    return rows.sort_values("id", ignore_index=True)
