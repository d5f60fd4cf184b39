"""Risk-of-bias judgments (``data/risk_of_bias.csv``): the tools' domains and allowed values,
overall judgments by each tool's rule, and the tables behind the traffic-light and summary
figures.

Overall judgments are computed here, not stored: RoB 2 is 'high' when any domain is high, 'low'
when all are low, otherwise 'some concerns' ('no information' counts as some concerns); ROBINS-I
takes its worst domain ('no information' is worse than nothing but ranks below low); SYRCLE has
no overall judgment (its authors advise against a summary score), so none is computed.
"""

from __future__ import annotations

import re

import pandas as pd

from mscfm.errors import DataError

TOOLS = ("RoB 2", "ROBINS-I", "SYRCLE")
DOMAINS: dict[str, dict[str, str]] = {
    "RoB 2": {
        "D1": "randomisation process",
        "D2": "deviations from intended interventions",
        "D3": "missing outcome data",
        "D4": "measurement of the outcome",
        "D5": "selection of the reported result",
    },
    "ROBINS-I": {
        "D1": "confounding",
        "D2": "selection of participants",
        "D3": "classification of interventions",
        "D4": "deviations from intended interventions",
        "D5": "missing data",
        "D6": "measurement of outcomes",
        "D7": "selection of the reported result",
    },
    "SYRCLE": {
        "SR1": "sequence generation",
        "SR2": "baseline characteristics",
        "SR3": "allocation concealment",
        "SR4": "random housing",
        "SR5": "blinding of caregivers and investigators",
        "SR6": "random outcome assessment",
        "SR7": "blinding of outcome assessors",
        "SR8": "incomplete outcome data",
        "SR9": "selective outcome reporting",
        "SR10": "other sources of bias",
    },
}
# Allowed judgments per tool, from least to most concern ('no information' / 'unclear': what
# could be read does not say).
JUDGMENTS: dict[str, tuple[str, ...]] = {
    "RoB 2": ("low", "some concerns", "no information", "high"),
    "ROBINS-I": ("low", "moderate", "no information", "serious", "critical"),
    "SYRCLE": ("low", "unclear", "high"),
}
TOOL_FOR_DESIGN: dict[str, str] = {"RCT": "RoB 2", "nonrandomized": "ROBINS-I",
                                   "single-arm": "ROBINS-I"}
ROW_ID = re.compile(r"\bR[0-9]{3}\b")


def check(rob: pd.DataFrame, studies: pd.DataFrame, preclinical: pd.DataFrame) -> None:
    """Every judgment allowed by its tool, every domain known, one row per study and domain,
    the right tool for the design; every clinical study judged in every domain of its tool.
    Raises DataError naming the row (as a spreadsheet shows it: first data row = 2)."""
    designs = studies.set_index("id")["design"]
    animal = set(preclinical["id"])
    for position, row in enumerate(rob.itertuples(index=False), start=2):
        where = f"risk_of_bias.csv row {position}"
        if row.tool not in DOMAINS:
            raise DataError(f"{where}, column tool: {row.tool!r} is not one of {TOOLS}")
        if row.domain not in DOMAINS[row.tool]:
            raise DataError(f"{where}, column domain: {row.domain!r} is not a {row.tool} domain")
        if row.judgment not in JUDGMENTS[row.tool]:
            raise DataError(f"{where}, column judgment: {row.judgment!r} is not allowed for "
                            f"{row.tool} (allowed: {', '.join(JUDGMENTS[row.tool])})")
        if row.study_id in designs.index:
            expected = TOOL_FOR_DESIGN.get(designs[row.study_id])
            if row.tool != expected:
                raise DataError(f"{where}, column tool: {row.study_id} is "
                                f"{designs[row.study_id]}, judged with {expected}")
        elif row.study_id in animal:
            if row.tool != "SYRCLE":
                raise DataError(f"{where}, column tool: animal study {row.study_id} needs SYRCLE")
        else:
            raise DataError(f"{where}, column study_id: {row.study_id!r} is in neither "
                            f"studies.csv nor preclinical.csv")
    repeated = rob[rob.duplicated(["study_id", "domain"])]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise DataError(f"risk_of_bias.csv: {first['study_id']} judged twice in domain "
                        f"{first['domain']}")
    for study, design in designs.items():
        tool = TOOL_FOR_DESIGN.get(design)
        have = set(rob.loc[rob["study_id"] == study, "domain"])
        missing = [d for d in DOMAINS.get(tool or "", {}) if d not in have]
        if tool is None or missing:
            raise DataError(f"risk_of_bias.csv: study {study} ({design}) lacks "
                            f"{tool or 'a tool'} domains {', '.join(missing) or '(all)'}")


def overall(judgments: list[str], tool: str) -> str | None:
    """The tool's overall judgment from its domain judgments (None for SYRCLE)."""
    if tool == "SYRCLE":
        return None
    if tool == "RoB 2":
        if "high" in judgments:
            return "high"
        return "low" if all(j == "low" for j in judgments) else "some concerns"
    order = JUDGMENTS[tool]
    return max(judgments, key=order.index)


def matrix(rob: pd.DataFrame, tool: str) -> pd.DataFrame:
    """Studies (rows, in table order) x domains (columns) of one tool, plus 'overall' (not for
    SYRCLE): the traffic-light table."""
    part = rob[rob["tool"] == tool]
    if part.empty:
        raise DataError(f"risk_of_bias.csv: no rows for {tool}")
    order = list(dict.fromkeys(part["study_id"]))
    table = part.pivot(index="study_id", columns="domain", values="judgment")
    table = table.loc[order, [d for d in DOMAINS[tool] if d in table.columns]]
    if tool != "SYRCLE":
        table["overall"] = [overall(list(values), tool) for values in table.to_numpy()]
    table.index.name = "study"
    return table


def summary(rob: pd.DataFrame, tool: str) -> pd.DataFrame:
    """Share of studies per judgment in each domain (rows: domains, columns: judgments in the
    tool's order), as the summary bar figure draws it."""
    table = matrix(rob, tool)
    shares = {domain: table[domain].value_counts(normalize=True) for domain in table.columns}
    frame = pd.DataFrame(shares).T.fillna(0.0)
    return frame.loc[:, [j for j in JUDGMENTS[tool] if j in frame.columns]]


def overall_table(rob: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """One row per clinical study: tool, the judgment of each domain in a short line, overall,
    and the row ids the judgments come from."""
    rows = []
    names = studies.set_index("id")
    for tool in ("RoB 2", "ROBINS-I"):
        table = matrix(rob, tool)
        part = rob[rob["tool"] == tool]
        for study, values in table.iterrows():
            ids = part.loc[part["study_id"] == study, "id"]
            rows.append({"study_id": study, "tool": tool,
                         "source": names.loc[study, "source"],
                         "domains": "; ".join(f"{d} {values[d]}" for d in DOMAINS[tool]),
                         "overall": values["overall"],
                         "rows": f"{ids.iloc[0]} to {ids.iloc[-1]}"})
    return pd.DataFrame(rows)


def cited_ids(text: str) -> list[str]:
    """Risk-of-bias row ids (R001 ...) named in a piece of text."""
    return ROW_ID.findall(str(text))


def certainty_citations(certainty: pd.DataFrame, rob: pd.DataFrame) -> pd.DataFrame:
    """The risk-of-bias downgrades of certainty.csv with the RoB rows their reason cites;
    raises DataError when a downgrade cites none or an id that does not exist."""
    known = set(rob["id"])
    rows = []
    for position, row in enumerate(certainty.itertuples(index=False), start=2):
        if row.domain != "risk_of_bias":
            continue
        ids = cited_ids(row.reason)
        unknown = [i for i in ids if i not in known]
        if not ids or unknown:
            raise DataError(f"certainty.csv row {position}, column reason: a risk-of-bias "
                            f"downgrade must cite risk_of_bias.csv rows (R001 ...)"
                            + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
        rows.append({"id": row.id, "claim_id": row.claim_id, "rob_rows": ", ".join(ids)})
    return pd.DataFrame(rows, columns=["id", "claim_id", "rob_rows"])


def overall_counts(rob: pd.DataFrame, tool: str) -> dict[str, int]:
    """How many studies reach each overall judgment of one tool."""
    counts = matrix(rob, tool)["overall"].value_counts()
    return {judgment: int(counts.get(judgment, 0)) for judgment in JUDGMENTS[tool]}
