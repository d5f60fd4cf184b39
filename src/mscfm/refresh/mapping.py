"""API v2 study JSON -> the v1 "study fields" record (field name -> list of strings) that
:mod:`mscfm.registry` derives its table from, so the same rules apply to old and new data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

V1Record = dict[str, list[str]]

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
