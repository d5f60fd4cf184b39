"""Every safety signal in the data, in words (chapter 08): not only those that fit a narrative.

Each published adverse-event ratio (``mscfm.safety.safety_estimates``) is put in one of three
groups by its 95% CI (more often with MSCs, less often, no clear difference) and described with
its numbers. Wide intervals are said to be wide: an interval whose upper end is many times its
lower end cannot tell a small harm from a large one, and one that includes 1 cannot rule a harm
out. The events that overlap fibromyalgia's own symptoms are named, because for a person with FM
they are not side issues.
"""

from __future__ import annotations

import pandas as pd

from mscfm.labels import source_label
from mscfm.language import count, plural

MORE, LESS, UNCLEAR = "more often with MSC", "less often with MSC", "no clear difference"
WIDE_RATIO = 5.0  # upper / lower CI limit beyond which an interval is called wide
# Adverse events that are also core symptoms of fibromyalgia in its diagnostic criteria
# (fatigue, waking unrefreshed).
FM_SYMPTOMS = ("fatigue", "sleeplessness")
MEASURE_NAMES = {"RR": "risk ratio", "OR": "odds ratio"}


def _describe(row: pd.Series) -> str:
    name = MEASURE_NAMES.get(row["measure"], row["measure"])
    return (f"{row['outcome']} ({name} {row['estimate']:.2f}, 95% CI {row['ci_lb']:.2f} to "
            f"{row['ci_ub']:.2f}; {source_label(row['source'])})")


def _series(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return "; ".join(items[:-1]) + "; and " + items[-1]


def signal_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The ratios with their reading, the width of their CI (upper over lower limit) and whether
    the event is also an FM symptom."""
    table = rows.assign(ci_ratio=rows["ci_ub"] / rows["ci_lb"],
                        fm_symptom=rows["outcome"].str.lower().isin(FM_SYMPTOMS),
                        study=rows["source"].map(source_label))
    return table.sort_values(["reading", "estimate"], ascending=[True, False], ignore_index=True)


def signal_text(rows: pd.DataFrame) -> str:
    """A paragraph per group of signals, every ratio named with its numbers (markdown)."""
    table = signal_table(rows)
    more = table[table["reading"] == MORE]
    less = table[table["reading"] == LESS]
    unclear = table[table["reading"] == UNCLEAR]
    parts = []
    if len(more):
        wide = more[more["ci_ratio"] > WIDE_RATIO]
        text = (f"**More often with MSCs.** {count(len(more), 'ratio')} "
                f"{plural(len(more), 'has', 'have')} a 95% CI entirely above 1: "
                f"{_series([_describe(r) for _, r in more.iterrows()])}.")
        if len(wide):
            text += (f" {len(wide)} of these intervals "
                     f"{plural(len(wide), 'is', 'are')} wide, the upper limit more than "
                     f"{WIDE_RATIO:g} times the lower ({', '.join(wide['outcome'])}): such a "
                     "result shows that the event was more frequent, not how much more.")
        symptoms = more[more["fm_symptom"]]
        if len(symptoms):
            names = " and ".join(symptoms["outcome"])
            one = len(symptoms) == 1
            verb = "is also a core symptom" if one else "are also core symptoms"
            text += (f" {names[0].upper()}{names[1:]} {verb} "
                     "of FM in its diagnostic criteria (fatigue, waking unrefreshed): for a "
                     f"person with FM a treatment that adds {'it' if one else 'them'} works "
                     "against the symptoms it is meant to relieve.")
        parts.append(text)
    if len(less):
        parts.append(
            f"**Less often with MSCs.** {count(len(less), 'ratio')} "
            f"{plural(len(less), 'lies', 'lie')} entirely below 1: "
            f"{_series([_describe(r) for _, r in less.iterrows()])}. These come from trials of "
            "MSCs given into a vein for other diseases, and do not carry over to FM.")
    if len(unclear):
        parts.append(
            f"**No clear difference.** {count(len(unclear), 'ratio')} "
            f"{plural(len(unclear), 'includes', 'include')} 1: "
            f"{_series([_describe(r) for _, r in unclear.iterrows()])}. An interval that "
            "includes 1 does not show that the event is no more frequent with MSCs; where it "
            "reaches well above 1 it leaves a real harm possible.")
    return "\n\n".join(parts)
