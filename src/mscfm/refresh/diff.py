"""What changed between two derived registry tables: trials added, removed, with a new status or
newly posted results, and where fibromyalgia is named in the new one; as a short markdown report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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
