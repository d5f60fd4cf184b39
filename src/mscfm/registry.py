"""Derive the registry table (`data/registry.csv`) from the ClinicalTrials.gov snapshot.

The snapshot (`data/raw/ctgov_msc_2022-10.json.gz`) maps each NCT ID to a record in the retired
API v1 "study fields" form: field name -> list of strings. :func:`derive_row` reads only the
fields named in :data:`V1_FIELDS_USED`, so a client of the current API (v2) can map its JSON to
the same v1-style dict and reuse every rule here.

Every classification is a keyword rule kept as data at the top of this module: an ordered list of
``(label, regex)`` pairs, matched case-insensitively. The book prints these lists, so a reader
sees exactly what each label means.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

import pandas as pd

from mscfm.errors import DataError

V1Record = Mapping[str, Sequence[str]]
RuleList = tuple[tuple[str, str], ...]

# --- Which v1 fields the derivation reads (the contract for a v2 -> v1 mapper) ---------------

V1_FIELDS_USED: dict[str, str] = {
    "NCTId": "nct_id",
    "BriefTitle": "title; condition group, cell source, donor, chronic pain and FM rules",
    "OfficialTitle": "cell source, donor and FM rules",
    "Condition": "conditions; condition group, chronic pain and FM rules",
    "Keyword": "cell source, donor and FM rules",
    "InterventionName": "cell source and donor rules",
    "InterventionOtherName": "cell source and donor rules",
    "InterventionDescription": "cell source and donor rules",
    "Phase": "phase",
    "OverallStatus": "status",
    "StartDate": "start_year",
    "EnrollmentCount": "enrollment",
    "LocationCountry": "countries",
    "ResultsFirstPostDate": "has_results",
    "EligibilityCriteria": "fm_mention = eligibility, fm_context",
    "ConditionBrowseLeafName": "fm_mention = browse term only",
    "ConditionMeshTerm": "fm_mention = browse term only",
    "ConditionAncestorTerm": "fm_mention = browse term only",
    "LeadSponsorName": "lead_sponsor",
}

# --- Output columns, in file order --------------------------------------------------------------

COLUMNS: tuple[str, ...] = (
    "nct_id",
    "title",
    "conditions",
    "condition_group",
    "cell_source",
    "svf",
    "donor",
    "phase",
    "status",
    "start_year",
    "enrollment",
    "countries",
    "has_results",
    "fm_mention",
    "fm_context",
    "chronic_pain",
    "lead_sponsor",
)
INTEGER_COLUMNS = ("start_year", "enrollment")
BOOLEAN_COLUMNS = ("svf", "has_results", "chronic_pain")
LIST_SEPARATOR = ";"

# --- Condition group: first matching rule wins, on conditions + brief title ----------------------
# Order matters:
# - COVID-19 before respiratory: a COVID ARDS trial is a COVID trial;
# - immune before the joints: rheumatoid arthritis is immune, not "arthritis";
# - spine before neurological: "spinal stenosis" is spine, "spinal cord injury" is neurological;
# - dental before bone ("alveolar bone loss" is dental), bone before the joints (a
#   pseudarthrosis is a failed fracture union);
# - eye before neurological: optic neuropathy is an eye disease;
# - cancer before haematology: MSC co-transplantation for leukaemia is cancer-related;
# - diabetes late: diabetic foot ulcers are wounds, diabetic kidney disease is kidney, diabetic
#   neuropathy is neurological.

CONDITION_GROUP_RULES: RuleList = (
    ("COVID-19", r"covid|sars-?cov|coronavirus|corona virus|2019-ncov|ncov-2019"),
    (
        "immune/inflammatory",
        r"graft[- ]v(?:ersu)?s?\.?[- ]host|gvh|crohn|ulcerative colitis|inflammatory bowel"
        r"|\bibd\b|lupus|\bsle\b|rheumatoid|multiple sclerosis|systemic sclerosis|scleroderma"
        r"|sj[oö]gren|psoria|atopic dermatitis|dermatitis, atopic|ankylosing spondylitis"
        r"|dermatomyositis|polymyositis|autoimmun|vasculitis|sepsis|septic|cytokine storm"
        r"|multiple organ (?:failure|dysfunction)|inflammatory syndrome|immunodeficien|\bhiv\b"
        r"|immune|immunolog",
    ),
    (
        "spine/disc",
        r"\bdiscs?\b|discogenic|intervertebral|back pain|\blbp\b|spondyl|spinal stenosis"
        r"|spinal fusion|lumbar|facet|cervical myelopathy",
    ),
    (
        "dental & oral",
        r"periodont|alveolar|gingiv|dental|\btooth|\bteeth|pulp|cleft|xerostomia|hyposalivation"
        r"|dry mouth|salivary|oral mucositis|(?<!temporo)mandib|maxill|jaw|sinus floor|sinus lift",
    ),
    (
        "bone",
        r"fracture|non-?union|pseudo-?arthrosis|osteonecrosis|avascular necrosis"
        r"|osteogenesis imperfecta|osteoporo|bone (?:defect|cyst|loss|neoplasm|regeneration)"
        r"|arthrodesis|osteodysplasia|hypophosphatasia|leg length|bone healing"
        r"|bone marrow o?edema|cranial reconstruction|bone reconstruction",
    ),
    (
        "musculoskeletal pain & joints",
        r"osteoarthr|(?<!pseudo-)(?<!pseudo)arthrosis|\boa\b|arthritis|arthropathy|arthralgia"
        r"|cartilage|chondral|chondro|menisc|rotator cuff|tendin|tendon|epicondyl|tennis elbow"
        r"|temporomandibular|\btmj\b|\btmd\b|musculoskeletal|chronic pain|joint|\bknee|\bhip\b"
        r"|shoulder|ankle|elbow|wrist|ligament|plantar fasci|muscle injur|sports injur",
    ),
    (
        "cancer-related",
        r"cancer|tumou?r|carcinoma|leuka?emia|lymphoma|myeloma|myelodysplas"
        r"|neoplas|glioblastoma|glioma|neuroblastoma|sarcoma|malignan|metasta|\bgist\b",
    ),
    ("eye", r"retin|macular|glaucoma|cornea|keratoconus|dry eye|\boptic|\beyes?\b|limbal|ocular"),
    (
        "neurological & psychiatric",
        r"spinal cord|stroke|cerebral|brain|amyotrophic|\bals\b|parkinson|alzheimer|dementia"
        r"|multiple system atrophy|cerebral palsy|autism|autistic|huntington|ataxia|epilep"
        r"|encephalopathy|neuropath(?!ic ulcer)|neuralg|nervous system|demyelinat|neurodegenerat"
        r"|muscular dystrophy|myopathy|intracerebral|h[a]?emorrhag(?:e|ic) stroke|migraine"
        r"|headache|paralysis|palsy|neurolog|myelitis|guillain|brachial plexus|lateral sclerosis"
        r"|spinal muscular atrophy|bradykinesia|concussion|hematoma|tourette|pitt[- ]hopkins"
        r"|depressi|schizophren|bipolar|alcohol use|psychiatr|\bmental\b",
    ),
    (
        "cardiovascular",
        r"myocardi|heart|cardi|coronary|angina|isch(?:a)?emi|limb isch|\barter|vascular|buerger"
        r"|atheroscler|ventricular|thromboangiitis|aneurysm|pulmonary (?:arterial )?hypertension",
    ),
    (
        "respiratory",
        r"respiratory distress|\bards\b|lung|pulmonary|bronch|\bcopd\b|emphysema|asthma"
        r"|pneumon|cystic fibrosis|pneumoconiosis|trache|laryn|respiratory|rhin|sinusitis",
    ),
    ("liver", r"liver|hepat|cirrho|biliary|cholang|\bhbv\b|\bhcv\b"),
    ("kidney", r"kidney|renal|nephr|dialysis|glomerul"),
    (
        "reproductive & urological",
        r"ovar|infertil|erectile|asherman|endometri|\buter|azoosperm|peyronie|incontinence"
        r"|cystitis|bladder|vagin|pregnan|preeclampsia|intrauterine|\bpoi\b|testic|oligosperm"
        r"|sexual|hormone deficiency",
    ),
    (
        "wound/skin",
        r"ulcer|wound|burn|epidermolysis|\bscar|cicatri|keloid|\bskin|alopecia|romberg|lyell"
        r"|necrolysis|lipodystroph|photoag|wrinkle|vitiligo|dermat|contour deformit|pyoderma"
        r"|sweat gland",
    ),
    ("diabetes/metabolic", r"diabet|insulin|obes|metabolic|hypercholesterol|lipid"),
    ("frailty & ageing", r"frailty|\bag(?:e)?ing\b|anti-?aging|age-related"),
    (
        "haematology & transplantation",
        r"an(?:a)?emia|thalass|sickle|h(?:a)?emophilia|graft failure|poor graft function"
        r"|engraftment|stem cell transplant|hematopoietic|haematopoietic|transplant"
        r"|chimerism|immune reconstitution|hematolog|haematolog|cytopenia|neutropenia",
    ),
    (
        "gastrointestinal",
        r"fistula|f(?:a)?ecal|pancreat|pouch|bowel|colitis|enterocolitis|intestin|\banal\b|\brect",
    ),
)
OTHER_GROUP = "other"

# --- Cell source: every matching rule counts; more than one label -> "multiple" ------------------
# Read from intervention names, other names and descriptions, both titles and keywords.
# Stromal vascular fraction (SVF) is adipose tissue but not a culture-expanded MSC product: it
# stays "adipose" here and is flagged separately in `svf` (SVF_PATTERN).

CELL_SOURCE_RULES: RuleList = (
    (
        "bone marrow",
        r"bone[- ]?marrow|\bmarrow\b|\bbm[- ]?m?scs?\b|\bbmscs?\b|\bbm-?mnc|\bbmac\b"
        r"|\bbmc\b|medullary",
    ),
    (
        "adipose",
        r"adipose|adipocyte-derived|\bfat\b|fat[- ]derived|lipoaspirat|liposuction"
        r"|\bad-?mscs?\b|\badscs?\b|\bhb-?admscs?\b|\bat-?mscs?\b|\b(?:allo-?)?h?ascs?\b"
        r"|micro-?fat|nano-?fat|lipogems|stromal vascular fraction|\bsvf\b",
    ),
    (
        "umbilical cord/Wharton's jelly",
        r"umbilical[- ]cord(?![- ]blood)|wharton|\bh?uc-?mscs?\b|\bwj-?mscs?\b|cord tissue"
        r"|cord-derived|cord derived",
    ),
    ("cord blood", r"cord[- ]blood|\bucb\b|\bucbmscs?\b"),
    ("placenta/amnion", r"placent|amnio|amnion|chorion|decidua"),
    (
        "dental pulp",
        r"dental pulp[- ](?:derived|stem|mesenchymal)|dental pulp of|\bdpscs?\b"
        r"|exfoliated deciduous|\bshed\b",
    ),
    (
        "menstrual/endometrial",
        r"menstrual[- ](?:blood|derived|stem|mesenchymal)|\bmenscs?\b"
        r"|endometri(?:al|um)[- ](?:derived |regenerative |stem |stromal |mesenchymal )",
    ),
    (
        "other",
        r"induced pluripotent|\bipscs?\b|embryonic stem|\bhescs?\b|muscle[- ]derived"
        r"|synovi(?:al|um)[- ](?:derived |fluid )?(?:mesenchymal |stem |stromal )"
        r"|olfactory|peripheral blood[- ](?:derived )?mesenchymal|skin[- ]derived"
        r"|dermal[- ](?:derived )?(?:mesenchymal|stem)|f(?:o)?etal[- ](?:liver|derived|mesenchymal)"
        r"|clonal f(?:o)?etal",
    ),
)
MULTIPLE_SOURCES = "multiple"
UNSPECIFIED = "unspecified"
SVF_PATTERN = r"stromal vascular fraction|\bsvf\b"

# --- Donor: allogeneic and/or autologous, from the same text as the cell source ------------------

DONOR_RULES: RuleList = (
    ("allogeneic", r"\ballo-?gen(?:e|i)?ic\b|\ballo\b|\ballo-|third[- ]party"),
    (
        "autologous",
        r"\bautologous\b|\bauto-?gen(?:e|i)?ic\b|\bautogenous\b|\bautograft|\bauto-"
        r"|patients?'?s? own|subject'?s own",
    ),
)

# --- Phase: v1 Phase list -> one label -----------------------------------------------------------

PHASE_LABELS: dict[tuple[str, ...], str] = {
    (): "",
    ("Early Phase 1",): "Early Phase 1",
    ("Phase 1",): "Phase 1",
    ("Phase 1", "Phase 2"): "Phase 1/2",
    ("Phase 2",): "Phase 2",
    ("Phase 2", "Phase 3"): "Phase 2/3",
    ("Phase 3",): "Phase 3",
    ("Phase 4",): "Phase 4",
    ("Not Applicable",): "N/A",
}

# --- Fibromyalgia mentions -----------------------------------------------------------------------

FM_PATTERN = r"fibromyalg\w*|\bfibrositis\b"
# Where a mention counts, first match wins: the trial is about FM / FM named in the eligibility
# text / FM only among the MeSH terms ClinicalTrials.gov attaches automatically.
FM_MENTION_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("condition", ("Condition", "Keyword", "BriefTitle", "OfficialTitle")),
    ("eligibility", ("EligibilityCriteria",)),
    ("browse term only", ("ConditionBrowseLeafName", "ConditionMeshTerm", "ConditionAncestorTerm")),
)
FM_NONE = "none"
# A heading line of the eligibility text: a short line such as "Exclusion Criteria:",
# "Key Inclusion Criteria", "4.2 Exclusion criteria" or "Protocol 260 Inclusion Criteria:". A
# sentence that only refers to a criterion ("See Exclusion Criterion #6.") is not a heading.
ELIGIBILITY_HEADING_PATTERN = (
    r"^[^\S\n]*[-*•]?[^\S\n]*(?:[\d.]+[^\S\n]*)?(?:\w+[^\S\n]+){0,2}"
    r"(?P<kind>inclusion|exclusion)s?(?:[^\S\n]+criteri(?:a|on))?[^\S\n]*:?[^\S\n]*$"
)
# An inclusion criterion that demands the absence of FM ("Absence of psychiatric illnesses,
# fibromyalgia ...") excludes FM patients just as an exclusion criterion does.
ABSENCE_PATTERN = r"^[^\S\n]*[-*•]?[^\S\n]*(?:absence of|no\b|without\b|free of|not\b)"

# --- Chronic pain: the trial's conditions or title name a chronic pain condition -----------------
# Osteoarthritis at any joint counts (its leading symptom is chronic joint pain). Rheumatoid and
# other inflammatory arthritis, injuries (tears, fractures) and postoperative pain do not.

CHRONIC_PAIN_RULES: RuleList = (
    (
        "osteoarthritis",
        r"osteoarthr|osteo[- ]arthr|(?<!pseudo-)(?<!pseudo)arthrosis"
        r"|\b(?:knee|hip)s? oa\b",
    ),
    (
        "back pain / disc degeneration",
        r"back pain|\blbp\b|disc degeneration|degenerat\w* disc"
        r"|intervertebral disc|discogenic|facetogenic"
        r"|facet\w*[- ](?:mediated|joint|arthropathy|pain)",
    ),
    ("neuropathic pain", r"neuropathic pain|neuralgia|peripheral neuropath"),
    (
        "tendinopathy",
        r"tendinopath|tendinitis|tendonitis|tendinosis|epicondyl|tennis elbow"
        r"|plantar fasci",
    ),
    ("headache", r"migraine|headache"),
    ("temporomandibular disorder", r"temporomandibular|\btmj\b|\btmd\b"),
    (
        "chronic or site pain",
        r"chronic[\w ,-]{0,30}\bpain\b|\b(?:knee|hip|shoulder|neck|joint"
        r"|musculoskeletal|pelvic|bladder|myofascial) pain\b|arthralgia|complex regional pain",
    ),
    ("fibromyalgia", FM_PATTERN),
    ("bladder pain", r"interstitial cystitis|bladder pain"),
)

_TEXT_SEPARATOR = " | "


@cache
def _compiled(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _values(record: V1Record, field: str) -> list[str]:
    return [value for value in record.get(field, ()) if value is not None]


def _first(record: V1Record, field: str) -> str:
    values = _values(record, field)
    return values[0].strip() if values else ""


def _text(record: V1Record, fields: Iterable[str]) -> str:
    return _TEXT_SEPARATOR.join(value for field in fields for value in _values(record, field))


def matching_labels(rules: RuleList, text: str) -> list[str]:
    """Labels of every rule whose pattern occurs in ``text``, in rule order."""
    return [label for label, pattern in rules if _compiled(pattern).search(text)]


def first_matching_label(rules: RuleList, text: str, default: str) -> str:
    labels = matching_labels(rules, text)
    return labels[0] if labels else default


# --- One function per derived column -------------------------------------------------------------

CONDITION_TEXT_FIELDS = ("Condition", "BriefTitle")
CELL_TEXT_FIELDS = (
    "InterventionName",
    "InterventionOtherName",
    "InterventionDescription",
    "BriefTitle",
    "OfficialTitle",
    "Keyword",
)


def condition_group(record: V1Record) -> str:
    text = _text(record, CONDITION_TEXT_FIELDS)
    return first_matching_label(CONDITION_GROUP_RULES, text, OTHER_GROUP)


def cell_source(record: V1Record) -> str:
    labels = matching_labels(CELL_SOURCE_RULES, _text(record, CELL_TEXT_FIELDS))
    if not labels:
        return UNSPECIFIED
    return labels[0] if len(labels) == 1 else MULTIPLE_SOURCES


def mentions_svf(record: V1Record) -> bool:
    return bool(_compiled(SVF_PATTERN).search(_text(record, CELL_TEXT_FIELDS)))


def donor(record: V1Record) -> str:
    labels = matching_labels(DONOR_RULES, _text(record, CELL_TEXT_FIELDS))
    if len(labels) == 2:
        return "both"
    return labels[0] if labels else UNSPECIFIED


def phase(record: V1Record) -> str:
    key = tuple(_values(record, "Phase"))
    try:
        return PHASE_LABELS[key]
    except KeyError:
        raise DataError(
            f"{_first(record, 'NCTId')}: field Phase: unknown value {list(key)}; "
            f"expected one of {[list(k) for k in PHASE_LABELS]}"
        ) from None


def start_year(record: V1Record) -> int | None:
    """The year of StartDate ("April 2012", "March 3, 2020"), or None when absent."""
    match = re.search(r"\b(\d{4})\s*$", _first(record, "StartDate"))
    return int(match.group(1)) if match else None


def enrollment(record: V1Record) -> int | None:
    raw = _first(record, "EnrollmentCount")
    if not raw:
        return None
    if not raw.isdigit():
        raise DataError(
            f"{_first(record, 'NCTId')}: field EnrollmentCount: {raw!r} is not a whole number"
        )
    return int(raw)


def _join(values: Iterable[str]) -> str:
    # A value holding the separator itself ("Post-traumatic; Arthrosis") gets a comma instead, so
    # that splitting the cell on ";" gives back one item per value.
    return LIST_SEPARATOR.join(value.strip().replace(LIST_SEPARATOR, ",") for value in values)


def countries(record: V1Record) -> str:
    return _join(sorted({country.strip() for country in _values(record, "LocationCountry")}))


def fm_mention(record: V1Record) -> str:
    pattern = _compiled(FM_PATTERN)
    for label, fields in FM_MENTION_FIELDS:
        if pattern.search(_text(record, fields)):
            return label
    return FM_NONE


def eligibility_context(text: str, position: int) -> str:
    """The eligibility section ("exclusion", "inclusion", "unclear") at ``position`` of ``text``.

    The section is that of the nearest heading line above the position; with no heading above
    it, "unclear". An inclusion line that demands the absence of the condition counts as
    exclusion (see ABSENCE_PATTERN).
    """
    headings = [
        m
        for m in _compiled(ELIGIBILITY_HEADING_PATTERN, re.IGNORECASE | re.MULTILINE).finditer(text)
        if m.start() <= position
    ]
    if not headings:
        return "unclear"
    section = headings[-1].group("kind").lower()
    if section == "inclusion":
        line_start = text.rfind("\n", 0, position) + 1
        if _compiled(ABSENCE_PATTERN).match(text[line_start:position]):
            return "exclusion"
    return section


def fm_context(record: V1Record) -> str:
    """Section of the first FM mention in the eligibility text; "" when there is none."""
    text = _text(record, ("EligibilityCriteria",))
    match = _compiled(FM_PATTERN).search(text)
    return eligibility_context(text, match.start()) if match else ""


def chronic_pain(record: V1Record) -> bool:
    return bool(matching_labels(CHRONIC_PAIN_RULES, _text(record, CONDITION_TEXT_FIELDS)))


def derive_row(record: V1Record) -> dict[str, object]:
    """One row of the registry table from one v1-style record (reads only V1_FIELDS_USED)."""
    nct_id = _first(record, "NCTId")
    if not nct_id:
        raise DataError("a snapshot record has no NCTId; expected a value like 'NCT01586312'")
    mention = fm_mention(record)
    row: dict[str, object] = {
        "nct_id": nct_id,
        "title": _first(record, "BriefTitle"),
        "conditions": _join(_values(record, "Condition")),
        "condition_group": condition_group(record),
        "cell_source": cell_source(record),
        "svf": mentions_svf(record),
        "donor": donor(record),
        "phase": phase(record),
        "status": _first(record, "OverallStatus"),
        "start_year": start_year(record),
        "enrollment": enrollment(record),
        "countries": countries(record),
        "has_results": bool(_first(record, "ResultsFirstPostDate")),
        "fm_mention": mention,
        "fm_context": fm_context(record) if mention == "eligibility" else "",
        "chronic_pain": chronic_pain(record),
        "lead_sponsor": _first(record, "LeadSponsorName"),
    }
    return {column: row[column] for column in COLUMNS}


# --- Snapshot in, table out ----------------------------------------------------------------------


def load_snapshot(path: str | Path) -> dict[str, dict[str, list[str]]]:
    """Read the snapshot (JSON, optionally gzipped): NCT ID -> v1 field name -> list of strings."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            snapshot = json.load(handle)
    except FileNotFoundError:
        raise DataError(
            f"{path}: file not found; expected the ClinicalTrials.gov snapshot"
        ) from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not readable as (gzipped) JSON: {exc}") from None
    _check_snapshot_shape(snapshot, path)
    return snapshot


def _check_snapshot_shape(snapshot: object, path: Path) -> None:
    if not isinstance(snapshot, dict):
        raise DataError(f"{path}: expected a JSON object keyed by NCT ID")
    for nct_id, record in snapshot.items():
        if not isinstance(record, dict):
            raise DataError(f"{path}: {nct_id}: expected an object of field -> list of strings")
        for field, values in record.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise DataError(f"{path}: {nct_id}: field {field}: expected a list of strings")


def derive_table(snapshot: Mapping[str, V1Record]) -> pd.DataFrame:
    """The registry table, one row per trial, sorted by nct_id."""
    rows = []
    for key, record in snapshot.items():
        row = derive_row(record)
        if row["nct_id"] != key:
            raise DataError(f"snapshot key {key} holds the record of {row['nct_id']}")
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in INTEGER_COLUMNS:
        table[column] = table[column].astype("Int64")
    for column in BOOLEAN_COLUMNS:
        table[column] = table[column].astype(bool)
    return table.sort_values("nct_id", ignore_index=True)


def registry_csv_text(table: pd.DataFrame) -> str:
    """The CSV text written by :func:`write_registry` (booleans as true/false, NA as empty)."""
    out = table.loc[:, list(COLUMNS)].copy()
    for column in BOOLEAN_COLUMNS:
        out[column] = out[column].map({True: "true", False: "false"})
    for column in INTEGER_COLUMNS:
        out[column] = out[column].astype("Int64").astype("string").fillna("")
    return out.to_csv(index=False, lineterminator="\n")


def write_registry(table: pd.DataFrame, path: str | Path) -> None:
    """Write the table as deterministic UTF-8 CSV (fixed columns, "\\n" line ends, no index)."""
    Path(path).write_bytes(registry_csv_text(table).encode("utf-8"))
