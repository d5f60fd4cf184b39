"""From the long arm-level outcomes table to a meta-analysis of MSC vs control.

One call, :func:`analyse`, does what chapter 07 needs: pick an outcome (or, for ``"pain"``, one
pain outcome per study by the pre-specified hierarchy), timepoint and value type (change from
baseline or final value) in one condition group; pair the MSC and control arms of each study;
recover SDs that the source reported only as an SE or a 95% CI (recorded in ``note``); choose
the measure; orient every effect so that a negative value favours MSC; pool. Further helpers
give the comparator subgroups, the meta-regression on dose or cell source, and say when k is
too small for a funnel plot, an estimator comparison or a meta-regression.

Rules (the methods page repeats them):

- Outcome ``"pain"`` takes, for each study, the first outcome of :data:`PAIN_HIERARCHY` that
  gives a usable comparison at the timepoint.
- Change and final values are combined in a mean difference (Cochrane Handbook 5.1, chapter 9):
  a study without the preferred value type contributes the other. They are never combined in an
  SMD, which assumes that SDs differ between studies only because their scales differ (9.2.3.2),
  so when the measure has to be the SMD only the preferred type is used.

- Arms are paired within one reported analysis: when the locator names a registry measure
  (``measure '...'``), MSC and control rows must come from the same measure, so a single-arm
  summary is never set against a between-arm model.
- Several arms of the same role in one analysis (two doses; two controls) are combined into one
  group with the Cochrane Handbook formula (section 6.5.2.10), and ``note`` says so.
- SD from SE: ``se * sqrt(n)``; SD from a 95% CI of the arm mean: t with n - 1 df (Cochrane
  Handbook 6.5.2.2). Arms with only medians, or without n, are left out with the reason.
- MD needs every study on a known numeric range (``scale`` like ``0-10``). Equal ranges are
  used as they are; different ranges are rescaled to 0-100. Otherwise the SMD is used and
  ``measure_reason`` says why.
- Sign: ``msc - control`` for lower-is-better outcomes, ``control - msc`` for higher-is-better
  ones, so negative always favours MSC.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from mscfm import effects, meta
from mscfm.errors import InputError
from mscfm.labels import study_label
from mscfm.language import count, plural

MEASURES = ("MD", "SMD")
PAIN = "pain"  # outcome name that selects one pain outcome per study by the hierarchy
# Pre-specified order (methods page): overall pain intensity on a single-item scale first, then
# the pain subscales of the joint-specific instruments, then pain in a stated situation.
# Bodily-pain subscales of quality-of-life questionnaires, composite responder outcomes and
# scores printed without their subscale are not pain outcomes here.
PAIN_HIERARCHY = ("VAS pain", "VAS joint pain", "NPRS", "WOMAC pain", "KOOS pain",
                  "VAS pain during activity", "VAS pain at rest")
MIN_K_FUNNEL = 10  # Sterne et al. 2011; Cochrane Handbook 5.1, 10.4.3.1
MIN_K_ESTIMATORS = 3  # with 2 studies tau^2 rests on one degree of freedom
MIN_K_PER_MODERATOR = 10  # Cochrane Handbook 5.1, 9.6.5.1: about ten studies per moderator
COMPARATOR_GROUPS = ("placebo", "active")
MEASURE_NAMES = {"MD": "mean difference", "SMD": "standardised mean difference"}
VALUE_TYPES = ("change", "final")
ALL_CONDITIONS = "all"
COMMON_RANGE = 100.0  # MD on different ranges is expressed on a 0-100 scale
_MEASURE_IN_LOCATOR = re.compile(r"measure '([^']*)'")
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*$")

PAIR_COLUMNS = ("study_id", "label", "outcome", "value_type", "design", "cell_source", "dose",
                "comparator", "direction", "scale",
                "n_msc", "mean_msc", "sd_msc", "n_control", "mean_control", "sd_control",
                "row_ids", "note")


class TooFewStudiesError(ValueError):
    """Fewer than 2 studies qualify for pooling; ``selection`` holds what was found."""

    def __init__(self, message: str, selection: Selection) -> None:
        super().__init__(message)
        self.selection = selection


@dataclass(frozen=True)
class Selection:
    """The comparisons that qualify (one row per study) and the studies left out, with why."""

    outcome: str
    timepoint_months: float
    value_type: str  # the preferred value type
    condition: str
    pairs: pd.DataFrame
    excluded: pd.DataFrame
    combined: bool = False  # a study may contribute the other value type

    @property
    def k(self) -> int:
        return len(self.pairs)

    @property
    def mixes_value_types(self) -> bool:
        return self.pairs["value_type"].nunique() > 1


@dataclass(frozen=True, eq=False)
class EfficacyAnalysis:
    """A pooled analysis: the selection, the measure used (and why), effects and the model."""

    selection: Selection
    measure: str
    measure_reason: str
    unit: str  # e.g. "points on a 0-100 scale" or "SD units"
    studies: pd.DataFrame  # pairs plus yi, vi, ci_lb, ci_ub, weight
    result: meta.MetaResult = field(repr=False)
    value_type_note: str = ""  # whether change and final values were combined, and why


# --------------------------------------------------------------------------- validation

def check_parameters(outcome: str, timepoint_months: float, measure: str, method: str,
                     test: str, value_type: str) -> None:
    """ValueError naming the argument and the allowed values."""
    if not isinstance(outcome, str) or not outcome.strip():
        raise ValueError(f"outcome must be a non-empty outcome name, got {outcome!r}")
    if not isinstance(timepoint_months, (int, float)) or timepoint_months < 0:
        raise ValueError(f"timepoint_months must be a number >= 0, got {timepoint_months!r}")
    for name, value, allowed in (("measure", measure, MEASURES), ("method", method, meta.METHODS),
                                 ("test", test, meta.TESTS),
                                 ("value_type", value_type, VALUE_TYPES)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def check_outcome(outcome: str, outcomes: pd.DataFrame) -> None:
    """ValueError listing the known outcome names when ``outcome`` is not one of them."""
    known = sorted(set(outcomes["outcome"].dropna()))
    if outcome != PAIN and outcome not in known:
        raise ValueError(f"outcome must be '{PAIN}' (the pain hierarchy) or one of the names "
                         f"in data/outcomes.csv ({'; '.join(known)}), got {outcome!r}")


def check_condition(condition: str, studies: pd.DataFrame) -> None:
    known = sorted(set(studies["condition_group"].dropna()))
    if condition != ALL_CONDITIONS and condition not in known:
        raise ValueError(f"condition must be one of {', '.join(known)} or "
                         f"'{ALL_CONDITIONS}', got {condition!r}")


# --------------------------------------------------------------------------- arm summaries

def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def arm_sd(row: pd.Series) -> tuple[float, str]:
    """SD of one arm and how it was obtained ("" when reported as an SD)."""
    n = row["n"]
    if not _missing(row["sd"]):
        return float(row["sd"]), ""
    if _missing(n):
        raise ValueError("arm n not reported")
    if not _missing(row["se"]):
        return float(effects.sd_from_se(row["se"], n)), f"SD from SE ({row['id']})"
    if not _missing(row["ci_lb"]) and not _missing(row["ci_ub"]):
        sd = effects.sd_from_ci(row["ci_lb"], row["ci_ub"], n, dist="t")
        return float(sd), f"SD from 95% CI, t with n-1 df ({row['id']})"
    if not _missing(row["median"]):
        raise ValueError("only medians reported")
    raise ValueError("no SD, SE or CI reported")


def combine_arms(ns: list[float], means: list[float], sds: list[float]
                 ) -> tuple[float, float, float]:
    """Cochrane Handbook 6.5.2.10: one group from several (n, mean, SD)."""
    n, m, s = ns[0], means[0], sds[0]
    for n2, m2, s2 in zip(ns[1:], means[1:], sds[1:], strict=True):
        total = n + n2
        mean = (n * m + n2 * m2) / total
        var = ((n - 1) * s**2 + (n2 - 1) * s2**2 + n * n2 / total * (m - m2) ** 2) / (total - 1)
        n, m, s = total, mean, math.sqrt(var)
    return n, m, s


def _analysis_key(locator: object) -> str:
    """The registry measure an arm value belongs to ("" when the locator names none)."""
    match = _MEASURE_IN_LOCATOR.search(str(locator)) if not _missing(locator) else None
    return match.group(1) if match else ""


def _summarise_role(rows: pd.DataFrame) -> tuple[float, float, float, list[str]]:
    ns, means, sds, notes = [], [], [], []
    for _, row in rows.iterrows():
        if _missing(row["mean"]):
            raise ValueError("only medians reported" if not _missing(row["median"])
                             else "no arm mean reported")
        if _missing(row["n"]):
            raise ValueError("arm n not reported")
        sd, how = arm_sd(row)
        ns.append(float(row["n"]))
        means.append(float(row["mean"]))
        sds.append(sd)
        if how:
            notes.append(how)
    if len(ns) > 1:
        notes.append(f"{len(ns)} {rows['arm_role'].iloc[0]} arms combined")
    n, m, s = combine_arms(ns, means, sds)
    return n, m, s, notes


# --------------------------------------------------------------------------- selection

def _pair_study(study_id: str, rows: pd.DataFrame, study: pd.Series) -> dict:
    """One comparison for a study, or ValueError with the reason it cannot be used."""
    keys = rows["locator"].map(_analysis_key)
    usable = [key for key in sorted(set(keys))
              if set(rows.loc[keys == key, "arm_role"]) >= {"msc", "control"}]
    if not usable:
        roles = set(rows["arm_role"])
        raise ValueError("no control arm at this timepoint" if "control" not in roles
                         else "no MSC arm at this timepoint" if "msc" not in roles
                         else "MSC and control values come from different analyses")
    chosen = rows[keys == usable[0]]
    msc = _summarise_role(chosen[chosen["arm_role"] == "msc"])
    ctl = _summarise_role(chosen[chosen["arm_role"] == "control"])
    directions = set(chosen["direction"])
    scales = set(chosen["scale"].dropna())
    if len(directions) != 1 or len(scales) > 1:
        raise ValueError("arms disagree on direction or scale")
    notes = msc[3] + ctl[3]
    if len(usable) > 1:
        notes.append(f"first of {len(usable)} reported analyses used")
    return {"study_id": study_id,
            "label": study_label(study.get("source") or study_id, study.get("product")),
            "outcome": chosen["outcome"].iloc[0], "value_type": chosen["value_type"].iloc[0],
            "design": study["design"], "cell_source": study["cell_source"],
            "dose": study.get("dose", ""), "comparator": study["comparator_type"],
            "direction": directions.pop(), "scale": scales.pop() if scales else "",
            "n_msc": msc[0], "mean_msc": msc[1], "sd_msc": msc[2],
            "n_control": ctl[0], "mean_control": ctl[1], "sd_control": ctl[2],
            "row_ids": " ".join(sorted(chosen["id"])), "note": "; ".join(notes)}


def outcome_candidates(outcome: str) -> tuple[str, ...]:
    """The outcomes tried for each study, in order: the hierarchy for ``"pain"``."""
    return PAIN_HIERARCHY if outcome == PAIN else (outcome,)


def _other(value_type: str) -> str:
    return "final" if value_type == "change" else "change"


def select(outcomes: pd.DataFrame, studies: pd.DataFrame, outcome: str,
           timepoint_months: float, value_type: str = "change",
           condition: str = "knee OA", combine_value_types: bool = False) -> Selection:
    """Comparisons of MSC vs control for one outcome (or the pain hierarchy), timepoint and
    value type; with ``combine_value_types`` a study lacking the preferred value type of an
    outcome contributes the other one before the next outcome of the hierarchy is tried."""
    check_condition(condition, studies)
    info = studies.set_index("id")
    candidates = outcome_candidates(outcome)
    value_types = (value_type, _other(value_type)) if combine_value_types else (value_type,)
    rows = outcomes[outcomes["outcome"].isin(candidates)
                    & np.isclose(outcomes["timepoint_months"].astype(float), timepoint_months)
                    & outcomes["value_type"].isin(value_types)]
    if condition != ALL_CONDITIONS:
        in_group = info.index[info["condition_group"] == condition]
        rows = rows[rows["study_id"].isin(in_group)]
    pairs, excluded = [], []
    for study_id in sorted(set(rows["study_id"])):
        found, reasons = _first_usable(rows[rows["study_id"] == study_id], info.loc[study_id],
                                       study_id, candidates, value_types, len(candidates) > 1
                                       or len(value_types) > 1)
        if found is not None:
            pairs.append(found)
        else:
            excluded.append({"study_id": study_id, "reason": "; ".join(reasons)})
    return Selection(outcome, float(timepoint_months), value_type, condition,
                     pd.DataFrame(pairs, columns=list(PAIR_COLUMNS)),
                     pd.DataFrame(excluded, columns=["study_id", "reason"]),
                     combine_value_types)


def _first_usable(rows: pd.DataFrame, study: pd.Series, study_id: str,
                  candidates: tuple[str, ...], value_types: tuple[str, ...], name_them: bool
                  ) -> tuple[dict | None, list[str]]:
    """The first (outcome, value type) of a study that pairs, or the reasons none does."""
    reasons = []
    for name in candidates:
        for vt in value_types:
            subset = rows[(rows["outcome"] == name) & (rows["value_type"] == vt)]
            if subset.empty:
                continue
            try:
                return _pair_study(study_id, subset, study), reasons
            except ValueError as reason:
                reasons.append(f"{name} ({vt}): {reason}" if name_them else str(reason))
    return None, reasons


# --------------------------------------------------------------------------- measure and sign

def parse_range(scale: object) -> float | None:
    """Width of a numeric scale range like ``0-100``; None when the scale is unknown."""
    match = _RANGE.match(str(scale)) if not _missing(scale) and scale != "" else None
    if not match:
        return None
    width = float(match.group(2)) - float(match.group(1))
    return width if width > 0 else None


def choose_measure(pairs: pd.DataFrame, requested: str) -> tuple[str, str, pd.Series]:
    """Measure actually used, the reason, and the factor that puts each study on the MD scale."""
    ones = pd.Series(1.0, index=pairs.index)
    if requested == "SMD":
        return "SMD", "SMD requested", ones
    widths = pairs["scale"].map(parse_range)
    if widths.isna().any():
        unknown = ", ".join(pairs.loc[widths.isna(), "study_id"])
        return "SMD", f"MD requested but the scale range is not known for {unknown}", ones
    if widths.nunique() == 1:
        return "MD", f"all studies on the same {pairs['scale'].iloc[0]} scale", ones
    return "MD", "scales differ: rescaled to 0-100", COMMON_RANGE / widths.astype(float)


def effect_sizes(pairs: pd.DataFrame, measure: str, factor: pd.Series) -> effects.EffectSizes:
    """MSC minus control on the analysis scale, sign flipped for higher-is-better outcomes."""
    f = factor.to_numpy(dtype=float)
    args = {"m1i": pairs["mean_msc"] * f, "sd1i": pairs["sd_msc"] * f, "n1i": pairs["n_msc"],
            "m2i": pairs["mean_control"] * f, "sd2i": pairs["sd_control"] * f,
            "n2i": pairs["n_control"], "labels": list(pairs["label"])}
    es = effects.escalc(measure, **args)
    sign = np.where(pairs["direction"].to_numpy() == "higher_better", -1.0, 1.0)
    return effects.EffectSizes(es.yi * sign, es.vi, es.labels, es.measure,
                               kept_rows=es.kept_rows)


def _unit(measure: str, reason: str, scale: str) -> str:
    if measure == "SMD":
        return "SD units (Hedges' g)"
    return "points on a 0-100 scale" if "rescaled" in reason else f"points on the {scale} scale"


# --------------------------------------------------------------------------- the analysis

def study_effects(selection: Selection, measure: str, level: float = 0.95
                  ) -> tuple[str, str, str, pd.DataFrame]:
    """Measure used, why, its unit, and the pairs with yi, vi and a z-based CI per study."""
    pairs = selection.pairs
    columns = [*PAIR_COLUMNS, "yi", "vi", "ci_lb", "ci_ub"]
    if pairs.empty:
        return measure, "no study qualifies", "", pd.DataFrame(columns=columns)
    used, reason, factor = choose_measure(pairs, measure)
    es = effect_sizes(pairs, used, factor)
    half = _z(level) * np.sqrt(es.vi)
    table = pairs.assign(yi=es.yi, vi=es.vi, ci_lb=es.yi - half, ci_ub=es.yi + half)
    return used, reason, _unit(used, reason, str(pairs["scale"].iloc[0])), table


def analyse(outcomes: pd.DataFrame, studies: pd.DataFrame, outcome: str = "VAS pain",
            timepoint_months: float = 6, measure: str = "MD", method: str = "REML",
            test: str = "knha", condition: str = "knee OA", value_type: str = "change",
            level: float = 0.95, combine_value_types: bool = True) -> EfficacyAnalysis:
    """Select, convert, orient and pool. TooFewStudiesError (a ValueError) when k < 2.

    Change and final values are combined only for an MD (``combine_value_types``); when the
    combined selection can only be pooled as an SMD, the preferred value type alone is used.
    """
    check_parameters(outcome, timepoint_months, measure, method, test, value_type)
    selection, note = select_for_measure(outcomes, studies, outcome, timepoint_months,
                                         value_type, condition, measure, combine_value_types)
    if selection.k < 2:
        raise TooFewStudiesError(
            f"{selection.k} {'study' if selection.k == 1 else 'studies'} with MSC and control "
            f"arms for {outcome!r} ({value_type}) at {timepoint_months:g} months in "
            f"condition {condition!r}: at least 2 are needed to pool", selection)
    used, reason, unit, table = study_effects(selection, measure, level)
    result = meta.rma(table["yi"], table["vi"], method=method, test=test, level=level,
                      labels=list(table["label"]), measure=used)
    table = table.assign(weight=result.weights)
    return EfficacyAnalysis(selection, used, reason, unit, table, result, note)


def select_for_measure(outcomes: pd.DataFrame, studies: pd.DataFrame, outcome: str,
                       timepoint_months: float, value_type: str, condition: str,
                       measure: str, combine_value_types: bool = True
                       ) -> tuple[Selection, str]:
    """The selection to pool and a sentence on whether change and final values were combined
    (only for an MD on known scales, never for an SMD)."""
    if not combine_value_types or measure == "SMD":
        why = ("change and final values are not combined for an SMD, which assumes that SDs "
               "differ between studies only because their scales differ (Cochrane Handbook "
               "5.1, 9.2.3.2)" if measure == "SMD" and combine_value_types
               else "change and final values are not combined (chapter parameter)")
        return select(outcomes, studies, outcome, timepoint_months, value_type, condition,
                      False), f"Only {value_type} values are used: {why}."
    combined = select(outcomes, studies, outcome, timepoint_months, value_type, condition,
                      True)
    if not combined.mixes_value_types:
        return combined, (f"All comparisons are {value_type} values, so no change and final "
                          f"values had to be combined." if combined.k else "")
    if choose_measure(combined.pairs, "MD")[0] == "MD":
        used = ", ".join(f"{row.label} ({row.value_type})"
                         for row in combined.pairs.itertuples())
        return combined, (f"Change and final values are combined in the mean difference, as "
                          f"the Cochrane Handbook (5.1, chapter 9) allows for an MD: {used}.")
    alone = select(outcomes, studies, outcome, timepoint_months, value_type, condition, False)
    unknown = combined.pairs.loc[combined.pairs["scale"].map(parse_range).isna(), "label"]
    return alone, (f"Change and final values are not combined here: the scale range of "
                   f"{', '.join(unknown)} is not known, so with it the measure would have to "
                   f"be the SMD, which must not mix change and final values (Cochrane "
                   f"Handbook 5.1, 9.2.3.2); only {value_type} values are used.")


def _z(level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - level) / 2))


def result_sentence(a: EfficacyAnalysis) -> str:
    """The pooled result in one sentence (for the prose, via glue)."""
    r = a.result
    test = "Knapp-Hartung t" if r.test == "knha" else "z"
    name = MEASURE_NAMES[a.measure]
    return (f"Pooling {count(r.k, 'study')} ({'; '.join(r.labels)}) with the {r.method} "
            f"estimator and the {test} test gives a {name} of {r.estimate:.2f} {a.unit} for "
            f"MSC minus control (95% CI {r.ci_lb:.2f} to {r.ci_ub:.2f}; p = {r.pval:.3f}), "
            f"with a 95% prediction interval of {r.pi_lb:.2f} to {r.pi_ub:.2f}; "
            f"tau^2 = {r.tau2:.2f}, I^2 = {r.I2:.0f}%.")


def no_pool_sentence(selection: Selection, reason: str) -> str:
    """Why no pooled estimate exists, naming what was found."""
    found = ", ".join(selection.pairs["study_id"]) or "none"
    left = "; ".join(f"{row.study_id}: {row.reason}" for row in selection.excluded.itertuples())
    return (f"No pooled estimate is possible: {reason}. Comparisons found: {found}."
            + (f" Left out: {left}." if left else ""))


def estimator_table(analysis: EfficacyAnalysis) -> pd.DataFrame:
    """The same data pooled with each tau^2 estimator (same test), one row per estimator."""
    r = analysis.result
    rows = []
    for method in meta.METHODS:
        fit = meta.rma(r.yi, r.vi, method=method, test=r.test, level=r.level,
                       labels=r.labels, measure=r.measure)
        rows.append({"method": method, "estimate": fit.estimate, "ci_lb": fit.ci_lb,
                     "ci_ub": fit.ci_ub, "pi_lb": fit.pi_lb, "pi_ub": fit.pi_ub,
                     "tau2": fit.tau2, "I2": fit.I2, "pval": fit.pval})
    return pd.DataFrame(rows)


def leave_one_out_table(analysis: EfficacyAnalysis) -> pd.DataFrame:
    """Leave-one-out rows; empty when k is too small for the model (k >= 3 for RE)."""
    columns = ["omitted", "k", "estimate", "ci_lb", "ci_ub", "tau2", "I2"]
    r = analysis.result
    if r.k < (2 if r.method == "EE" else 3):
        return pd.DataFrame(columns=columns)
    rows = [{"omitted": s.label, "k": s.k, "estimate": s.estimate, "ci_lb": s.ci_lb,
             "ci_ub": s.ci_ub, "tau2": s.tau2, "I2": s.I2} for s in meta.leave1out(r)]
    return pd.DataFrame(rows, columns=columns)


def small_study_test(analysis: EfficacyAnalysis) -> meta.EggerResult | None:
    """Egger's test when k >= 10 (None otherwise: with fewer studies it cannot tell chance from
    small-study effects; Sterne et al. 2011)."""
    return meta.egger_test(analysis.result) if analysis.result.k >= MIN_K_FUNNEL else None


def funnel_applicable(k: int) -> tuple[bool, str]:
    """Whether a funnel plot (and Egger's test) is shown, and if not, why."""
    if k >= MIN_K_FUNNEL:
        return True, ""
    return False, (f"No funnel plot and no test for small-study effects: with "
                   f"{count(k, 'comparison')} (fewer than {MIN_K_FUNNEL}) the plot's asymmetry "
                   f"cannot be told from chance (Sterne et al. 2011).")


def estimators_applicable(k: int) -> tuple[bool, str]:
    """Whether the table comparing tau^2 estimators is shown, and if not, why."""
    if k >= MIN_K_ESTIMATORS:
        return True, ""
    return False, (f"No comparison of estimators: with {count(k, 'comparison')} the "
                   f"between-trial variance rests on {count(max(k - 1, 0), 'degree')} of "
                   f"freedom, so every estimator is a guess of the same kind (at least "
                   f"{MIN_K_ESTIMATORS} are needed here).")


@dataclass(frozen=True, eq=False)
class ComparatorSubgroups:
    """Pooled estimates by kind of comparator (placebo, active) and the test between them."""

    table: pd.DataFrame  # comparator, k, studies, estimate, ci_lb, ci_ub
    test: meta.SubgroupResult | None
    text: str


def comparator_subgroups(analysis: EfficacyAnalysis) -> ComparatorSubgroups:
    """Placebo- and active-controlled comparisons as separate subgroups (common tau^2, as
    metafor's ``mods = ~ factor(comparator)``), with the test for subgroup differences when
    both kinds have studies and k allows it."""
    r, table = analysis.result, analysis.studies
    rows = []
    for kind in COMPARATOR_GROUPS:
        sel = (table["comparator"] == kind).to_numpy()
        k = int(sel.sum())
        row: dict = {"comparator": kind, "k": k,
                     "studies": ", ".join(table.loc[sel, "label"]) or "none"}
        if k:
            fit = meta.rma(np.asarray(r.yi)[sel], np.asarray(r.vi)[sel],
                           method=r.method if k > 1 else "EE", test=r.test if k > 1 else "z",
                           level=r.level, measure=r.measure)
            row.update(estimate=fit.estimate, ci_lb=fit.ci_lb, ci_ub=fit.ci_ub)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["comparator", "k", "studies", "estimate", "ci_lb",
                                        "ci_ub"])
    present = frame.loc[frame["k"] > 0, "comparator"].tolist()
    if len(present) < 2:
        only = present[0] if present else "none"
        missing = [kind for kind in COMPARATOR_GROUPS if kind not in present]
        return ComparatorSubgroups(frame, None, (
            f"All {count(r.k, 'comparison')} {plural(r.k, 'is')} {only}-controlled; no "
            f"{' or '.join(missing)}-controlled trial qualifies, so there is no test for a "
            f"difference between comparators."))
    try:
        test = meta.subgroups(r.yi, r.vi, list(table["comparator"]), method=r.method,
                              test=r.test, level=r.level, measure=r.measure)
    except InputError as exc:
        return ComparatorSubgroups(frame, None, f"No test for a difference between "
                                                f"comparators: {exc}.")
    stat = "F" if test.df2 is not None else "Q"
    return ComparatorSubgroups(frame, test, (
        f"Test for a difference between placebo- and active-controlled comparisons (one "
        f"between-trial variance for both): {stat} = {test.Q_between:.2f}, p = {test.p:.3f}."))


_CELLS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*10\^(\d+)\s*cells\b", re.IGNORECASE)


def dose_million_cells(dose: object) -> float | None:
    """A single dose written as ``N x10^E cells`` in millions of cells; None for anything else
    (ranges, several doses, volumes, doses not read)."""
    if _missing(dose):
        return None
    text = str(dose)
    match = _CELLS.match(text)
    if not match or " or " in text or "," in text.split("(")[0]:
        return None
    return float(match.group(1)) * 10 ** (int(match.group(2)) - 6)


def moderator_analysis(analysis: EfficacyAnalysis, moderator: str
                       ) -> tuple[meta.MetaRegression | None, str]:
    """Meta-regression on ``"dose"`` (millions of cells) or ``"cell_source"`` when k allows
    (at least :data:`MIN_K_PER_MODERATOR` studies with a value), else None and the reason."""
    table, r = analysis.studies, analysis.result
    if moderator == "dose":
        values = table["dose"].map(dose_million_cells)
        label = "dose (millions of cells)"
    elif moderator == "cell_source":
        values = table["cell_source"].where(table["cell_source"].notna())
        label = "cell source"
    else:
        raise ValueError(f"moderator must be 'dose' or 'cell_source', got {moderator!r}")
    usable = values.notna().to_numpy()
    k = int(usable.sum())
    if k < MIN_K_PER_MODERATOR:
        return None, (f"No meta-regression on {label}: {k} of {count(r.k, 'comparison')} "
                      f"{plural(k, 'has', 'have')} a usable value, and at least "
                      f"{MIN_K_PER_MODERATOR} are needed for one moderator (Cochrane Handbook "
                      f"5.1, 9.6.5.1).")
    try:
        reg = meta.rma_mods(np.asarray(r.yi)[usable], np.asarray(r.vi)[usable],
                            {moderator: list(values[usable])}, method=r.method, test=r.test,
                            level=r.level, measure=r.measure)
    except InputError as exc:
        return None, f"No meta-regression on {label}: {exc}."
    return reg, (f"Meta-regression on {label} (k = {k}): test of the moderator p = "
                 f"{reg.QM_p:.3f}, R^2 = {reg.R2 or 0:.0f}%.")


MODERATOR_LABELS = {"dose": "dose", "cell_source": "cell source"}


def moderators_text(analysis: EfficacyAnalysis,
                    moderators: tuple[str, ...] = ("dose", "cell_source")) -> str:
    """One paragraph on the meta-regressions: their results where k allows, else one
    sentence with the counts and the reason."""
    results = {name: moderator_analysis(analysis, name) for name in moderators}
    done = [text for reg, text in results.values() if reg is not None]
    skipped = [name for name, (reg, _) in results.items() if reg is None]
    if not skipped:
        return " ".join(done)
    counts = []
    for name in skipped:
        column = analysis.studies[name]
        usable = column.map(dose_million_cells).notna() if name == "dose" else column.notna()
        n = int(usable.sum())
        counts.append(f"{MODERATOR_LABELS[name]} ({n} of "
                      f"{count(analysis.result.k, 'comparison')} {plural(n, 'has', 'have')} a "
                      f"usable value)")
    return " ".join(done + [f"No meta-regression on {' or on '.join(counts)}: at least "
                            f"{MIN_K_PER_MODERATOR} are needed for each moderator (Cochrane "
                            f"Handbook 5.1, 9.6.5.1)."])


# --------------------------------------------------------------------------- evidence map

def comparison_map(outcomes: pd.DataFrame, studies: pd.DataFrame,
                   condition: str = "knee OA") -> pd.DataFrame:
    """For every outcome x timepoint x value type in a condition: how many studies have a
    usable MSC-vs-control comparison (k) and how many report the outcome at all."""
    check_condition(condition, studies)
    info = studies.set_index("id")
    rows = outcomes[outcomes["mean"].notna() | outcomes["median"].notna()]
    rows = rows[rows["timepoint_months"] > 0]
    if condition != ALL_CONDITIONS:
        rows = rows[rows["study_id"].isin(info.index[info["condition_group"] == condition])]
    keys = rows[["outcome", "timepoint_months", "value_type"]].drop_duplicates()
    out = []
    for _, key in keys.iterrows():
        sel = select(outcomes, studies, key["outcome"], float(key["timepoint_months"]),
                     key["value_type"], condition)
        reporting = rows[(rows["outcome"] == key["outcome"])
                         & (rows["timepoint_months"] == key["timepoint_months"])
                         & (rows["value_type"] == key["value_type"])]["study_id"].nunique()
        out.append({"outcome": key["outcome"], "timepoint_months": float(key["timepoint_months"]),
                    "value_type": key["value_type"], "studies_reporting": int(reporting),
                    "k_comparisons": sel.k, "studies": ", ".join(sel.pairs["study_id"])})
    frame = pd.DataFrame(out, columns=["outcome", "timepoint_months", "value_type",
                                       "studies_reporting", "k_comparisons", "studies"])
    return frame.sort_values(["outcome", "timepoint_months", "value_type"], ignore_index=True)


# --------------------------------------------------------------------------- FM, fatigue, QoL

_FATIGUE = re.compile(r"fatigue", re.IGNORECASE)
_QOL = re.compile(r"quality of life|QoL|EQ-5D|SF-(?:12|36)|RAND-36", re.IGNORECASE)
_PAIN_SUBSCALE = re.compile(r"bodily pain|body pain", re.IGNORECASE)
_FM = re.compile(r"fibromyalgia", re.IGNORECASE)


def domain_counts(outcomes: pd.DataFrame, studies: pd.DataFrame) -> dict[str, int]:
    """How many curated studies are in FM, and how many report fatigue or quality of life
    (a pain subscale of a QoL instrument, such as SF-36 bodily pain, is counted apart)."""
    names = outcomes[["study_id", "outcome"]].drop_duplicates()
    qol = names[names["outcome"].str.contains(_QOL)]
    qol_pain = qol[qol["outcome"].str.contains(_PAIN_SUBSCALE)]
    qol_other = qol[~qol["outcome"].str.contains(_PAIN_SUBSCALE)]
    fatigue = names[names["outcome"].str.contains(_FATIGUE)]
    fm = studies[studies["condition"].str.contains(_FM) | studies["condition_group"]
                 .str.contains(_FM)]
    return {"studies": int(studies["id"].nunique()),
            "studies_with_outcomes": int(names["study_id"].nunique()),
            "fm_studies": int(fm["id"].nunique()),
            "fatigue_studies": int(fatigue["study_id"].nunique()),
            "qol_studies": int(qol_other["study_id"].nunique()),
            "qol_pain_subscale_studies": int(qol_pain["study_id"].nunique())}


def published_estimates(pooled: pd.DataFrame, topic: str = "efficacy",
                        condition: str = ALL_CONDITIONS) -> pd.DataFrame:
    """Published pooled estimates of one topic, with a printable CI, sorted."""
    rows = pooled[pooled["topic"] == topic]
    if condition != ALL_CONDITIONS:
        rows = rows[rows["condition"] == condition]
    rows = rows.assign(ci=[_ci_text(lb, ub) for lb, ub in zip(rows["ci_lb"], rows["ci_ub"],
                                                            strict=True)])
    return rows.sort_values(["condition", "source", "outcome"], ignore_index=True)


def _ci_text(lb: float, ub: float) -> str:
    if _missing(lb) or _missing(ub):
        return ""
    return f"{lb:.2f} to {ub:.2f}"


# --------------------------------------------------------------------------- one trial

def trial_outcomes(outcomes: pd.DataFrame, study_id: str) -> pd.DataFrame:
    """All curated rows of one trial with a value, as a display table sorted by outcome and
    arm: mean and SD for continuous rows, events of n (and percent) for counts."""
    rows = outcomes[(outcomes["study_id"] == study_id)
                    & (outcomes["mean"].notna() | outcomes["events"].notna())]
    if rows.empty:
        raise ValueError(f"no outcome rows with values for study_id {study_id!r}")
    percent = 100 * rows["events"].astype(float) / rows["n"].astype(float)
    table = rows.assign(percent=percent)[["id", "outcome", "timepoint", "arm", "arm_role", "n",
                                          "mean", "sd", "events", "percent"]]
    return table.sort_values(["outcome", "arm_role", "id"], ignore_index=True)


KEY_RESULTS = ("k", "estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "pval", "tau2", "I2")


def key_results(analysis: EfficacyAnalysis | None) -> dict[str, float]:
    """The pooled numbers a sweep compares across parameter sets (NaN when nothing pooled)."""
    if analysis is None:
        return {name: float("nan") for name in KEY_RESULTS}
    fit = analysis.result
    return {name: float(getattr(fit, name)) for name in KEY_RESULTS}
