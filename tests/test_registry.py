"""The registry derivation: rules on real snapshot records, rule lists on synthetic records, and
byte-for-byte reproduction of data/registry.csv.

Expected values for named NCT IDs were read by hand in the raw records (the quoted phrase in each
comment is what the record says), not computed by the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from mscfm import registry
from mscfm.cli import main as cli_main
from mscfm.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw" / "ctgov_msc_2022-10.json.gz"
CSV = ROOT / "data" / "registry.csv"
SCHEMA = ROOT / "data" / "schema" / "registry.schema.json"

# FM named in the eligibility text (BRIEF.md §2): eight pain/joint trials and three COVID ones.
FM_ELIGIBILITY_TRIALS = {
    "NCT04735185",
    "NCT02641860",
    "NCT04208646",
    "NCT02474342",
    "NCT05261360",
    "NCT05081921",
    "NCT04240873",
    "NCT03362424",
    "NCT05126563",
    "NCT05125562",
    "NCT05116761",
}


@pytest.fixture(scope="module")
def snapshot() -> dict[str, dict[str, list[str]]]:
    return registry.load_snapshot(RAW)


@pytest.fixture(scope="module")
def table(snapshot):
    return registry.derive_table(snapshot)


def row(table, nct_id: str) -> dict[str, object]:
    return table.set_index("nct_id").loc[nct_id].to_dict()


# --- Real records ------------------------------------------------------------------------------


def test_snapshot_has_1536_trials_keyed_by_nct_id(snapshot, table):
    assert len(snapshot) == 1536
    assert list(table["nct_id"]) == sorted(snapshot)
    assert table["nct_id"].is_unique


def test_status_counts_match_snapshot_notes(table):
    counts = table["status"].value_counts()
    assert counts["Completed"] == 470
    assert counts["Unknown status"] == 431
    assert counts["Recruiting"] == 292


def test_no_trial_lists_fibromyalgia_as_condition(table):
    assert (table["fm_mention"] == "condition").sum() == 0


def test_the_eleven_eligibility_mentions_are_all_exclusions(table):
    mentions = table[table["fm_mention"] == "eligibility"]
    assert set(mentions["nct_id"]) == FM_ELIGIBILITY_TRIALS
    assert set(mentions["fm_context"]) == {"exclusion"}


def test_fm_context_empty_without_an_eligibility_mention(table):
    others = table[table["fm_mention"] != "eligibility"]
    assert set(others["fm_context"]) == {""}


def test_nct05305833_has_fm_only_as_browse_term(table):
    # Record: Condition = TMJ disorders only; "Fibromyalgia" among ConditionBrowseLeafName.
    assert row(table, "NCT05305833")["fm_mention"] == "browse term only"
    assert (table["fm_mention"] == "browse term only").sum() == 1


def test_nct04735185_excludes_diffuse_pain_phenotype(table):
    # Exclusion list: "Diffuse pain phenotype (e.g. diagnosis of fibromyalgia)"; intervention
    # "autologous bone marrow-derived mesenchymal stem cells"; conditions chronic LBP and DDD.
    r = row(table, "NCT04735185")
    assert (r["fm_mention"], r["fm_context"]) == ("eligibility", "exclusion")
    assert (r["cell_source"], r["donor"]) == ("bone marrow", "autologous")
    assert r["condition_group"] == "spine/disc"
    assert r["chronic_pain"]
    assert (r["phase"], r["status"]) == ("N/A", "Suspended")


def test_nct03362424_absence_in_inclusion_list_counts_as_exclusion(snapshot):
    # The mention sits above "Exclusion Criteria:", on the inclusion line
    # "Absence of psychiatric illnesses, fibromyalgia or painful pathologies ...".
    text = snapshot["NCT03362424"]["EligibilityCriteria"][0]
    assert text.index("fibromyalgia") < text.index("Exclusion Criteria")
    assert registry.fm_context(snapshot["NCT03362424"]) == "exclusion"


def test_nct05125562_reference_to_exclusion_criterion_is_not_a_heading(snapshot):
    # The inclusion text says "See Exclusion Criterion #6." before the real heading; the FM
    # mention is in the exclusion list below it.
    text = snapshot["NCT05125562"]["EligibilityCriteria"][0]
    assert "See Exclusion Criterion #6." in text
    assert registry.fm_context(snapshot["NCT05125562"]) == "exclusion"


def test_nct01586312_vega_knee_oa(table):
    # "Allogenic mesenchymal stromal cells", "prepared from bone marrow of healthy donors";
    # Knee OA; Phase 1 + Phase 2; Completed; April 2012; 30; Spain; results posted 2014.
    r = row(table, "NCT01586312")
    assert (r["cell_source"], r["donor"]) == ("bone marrow", "allogeneic")
    assert r["condition_group"] == "musculoskeletal pain & joints"
    assert r["chronic_pain"]
    assert (r["phase"], r["status"]) == ("Phase 1/2", "Completed")
    assert (r["start_year"], r["enrollment"]) == (2012, 30)
    assert r["countries"] == "Spain"
    assert r["has_results"]
    assert r["lead_sponsor"] == "Red de Terapia Celular"
    assert r["fm_mention"] == "none"


def test_nct02674399_jointstem_autologous_adipose(table):
    # Official title: "JointStem, Autologous Adipose Tissue Derived Mesenchymal Stem Cells".
    r = row(table, "NCT02674399")
    assert (r["cell_source"], r["donor"], r["svf"]) == ("adipose", "autologous", False)
    assert (r["phase"], r["has_results"]) == ("Phase 2", True)


def test_nct04064879_svf_for_migraine(table):
    # Intervention "AD-SVF"; conditions "Chronic Migraine, Headache".
    r = row(table, "NCT04064879")
    assert (r["cell_source"], r["svf"]) == ("adipose", True)
    assert r["chronic_pain"]


def test_nct05152368_cord_cells_for_trigeminal_neuralgia(table):
    # "cultured allogeneic adult umbilical cord derived mesenchymal stem cells".
    r = row(table, "NCT05152368")
    assert (r["cell_source"], r["donor"]) == ("umbilical cord/Wharton's jelly", "allogeneic")
    assert r["condition_group"] == "neurological & psychiatric"
    assert r["chronic_pain"]
    assert r["countries"] == "Antigua and Barbuda"


def test_nct05305833_tmj_is_a_joint_pain_trial(table):
    r = row(table, "NCT05305833")
    assert r["condition_group"] == "musculoskeletal pain & joints"
    assert r["chronic_pain"]
    assert r["svf"]


def test_nct02412735_two_countries_sorted(table):
    # LocationCountry holds the United States and Australia.
    assert row(table, "NCT02412735")["countries"] == "Australia;United States"


def test_condition_with_internal_separator_keeps_one_item(table):
    # NCT05261360 lists "Knee; Injury, Meniscus (Lateral) (Medial)" as one condition.
    conditions = row(table, "NCT05261360")["conditions"].split(";")
    assert "Knee, Injury, Meniscus (Lateral) (Medial)" in conditions


def test_nct04130373_postoperative_pain_is_not_chronic(table):
    # Condition "Pain, Postoperative" (autologous fat grafting).
    assert not row(table, "NCT04130373")["chronic_pain"]


def test_missing_start_date_leaves_start_year_empty(snapshot, table):
    no_start = [n for n, r in snapshot.items() if not r.get("StartDate")]
    assert no_start
    assert table.set_index("nct_id").loc[no_start, "start_year"].isna().all()


# --- The file on disk ----------------------------------------------------------------------------


def test_csv_reproduces_byte_for_byte(table):
    assert CSV.read_bytes() == registry.registry_csv_text(table).encode("utf-8")


def test_write_registry_is_deterministic(table, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    registry.write_registry(table, first)
    registry.write_registry(table.sample(frac=1, random_state=1), second)
    assert b"\r\n" not in first.read_bytes()
    assert first.read_bytes().startswith(",".join(registry.COLUMNS).encode() + b"\n")
    # Row order of the input does not matter once sorted by derive_table's contract.
    reread = second.read_text(encoding="utf-8").splitlines()
    assert sorted(reread[1:]) == sorted(first.read_text(encoding="utf-8").splitlines()[1:])


EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"(?:\+\d{1,3}[\s.-]?)?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,4}\b")


def test_no_contact_details_in_output():
    text = CSV.read_text(encoding="utf-8")
    assert not EMAIL.search(text)
    assert not PHONE.search(text)


def test_contact_patterns_would_fire():
    assert EMAIL.search("write to j.doe@example.org")
    assert PHONE.search("call +1 (507) 284-2511")


def test_csv_matches_schema():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    fields = {f["name"]: f for f in schema["fields"]}
    assert list(fields) == list(registry.COLUMNS)
    rows = list(csv.DictReader(io.StringIO(CSV.read_text(encoding="utf-8"))))
    for number, r in enumerate(rows, start=2):
        for name, field in fields.items():
            value, rules = r[name], field.get("constraints", {})
            where = f"row {number}, column {name}"
            if value == "":
                assert not rules.get("required"), where
                continue
            if "enum" in rules:
                assert value in rules["enum"], where
            if "pattern" in rules:
                assert re.fullmatch(rules["pattern"], value), where
            if field["type"] == "boolean":
                assert value in ("true", "false"), where
            if field["type"] == "integer":
                assert rules.get("minimum", 0) <= int(value) <= rules.get("maximum", 10**9), where


def test_schema_enums_list_every_rule_label():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    enums = {f["name"]: set(f.get("constraints", {}).get("enum", [])) for f in schema["fields"]}
    assert {label for label, _ in registry.CONDITION_GROUP_RULES} <= enums["condition_group"]
    assert {label for label, _ in registry.CELL_SOURCE_RULES} <= enums["cell_source"]


def test_v1_fields_used_cover_what_derive_row_reads(snapshot):
    # A record cut down to V1_FIELDS_USED derives the same row: nothing else is read.
    record = snapshot["NCT04735185"]
    reduced = {k: v for k, v in record.items() if k in registry.V1_FIELDS_USED}
    assert registry.derive_row(reduced) == registry.derive_row(record)


def test_cli_check_passes_then_fails_on_a_changed_copy(tmp_path, capsys):
    copy = tmp_path / "registry.csv"
    copy.write_bytes(CSV.read_bytes())
    assert cli_main(["derive-registry", "--raw", str(RAW), "--out", str(copy), "--check"]) == 0
    copy.write_bytes(CSV.read_bytes().replace(b"Completed", b"Complete", 1))
    assert cli_main(["derive-registry", "--raw", str(RAW), "--out", str(copy), "--check"]) == 1
    assert "differs" in capsys.readouterr().err


# --- Rule lists on synthetic records --------------------------------------------------------------


def record(**fields: list[str]) -> dict[str, list[str]]:
    return {
        "NCTId": ["NCT00000001"],
        "BriefTitle": ["A trial"],
        "OverallStatus": ["Recruiting"],
        "LeadSponsorName": ["Sponsor"],
        **fields,
    }


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (["COVID-19 ARDS"], "COVID-19"),
        (["Rheumatoid Arthritis"], "immune/inflammatory"),
        (["Acute Graft-versus-host Disease"], "immune/inflammatory"),
        (["Multiple Sclerosis"], "immune/inflammatory"),
        (["Degenerative Disc Disease"], "spine/disc"),
        (["Chronic Low Back Pain"], "spine/disc"),
        (["Alveolar Bone Loss"], "dental & oral"),
        (["Tibia Pseudo-arthrosis"], "bone"),
        (["Knee Osteoarthritis"], "musculoskeletal pain & joints"),
        (["Temporomandibular Joint Disorders"], "musculoskeletal pain & joints"),
        (["Acute Myeloid Leukemia"], "cancer-related"),
        (["Non Arteritic Ischemic Optic Neuropathy"], "eye"),
        (["Spinal Cord Injury"], "neurological & psychiatric"),
        (["Ischemic Stroke"], "neurological & psychiatric"),
        (["Diabetic Peripheral Neuropathy"], "neurological & psychiatric"),
        (["Critical Limb Ischemia"], "cardiovascular"),
        (["Bronchopulmonary Dysplasia"], "respiratory"),
        (["Decompensated Liver Cirrhosis"], "liver"),
        (["Diabetic Nephropathy"], "kidney"),
        (["Premature Ovarian Failure"], "reproductive & urological"),
        (["Diabetic Foot Ulcer"], "wound/skin"),
        (["Diabetic Neuropathic Ulcer"], "wound/skin"),
        (["Type 1 Diabetes Mellitus"], "diabetes/metabolic"),
        (["Aging Frailty"], "frailty & ageing"),
        (["Aplastic Anemia"], "haematology & transplantation"),
        (["Cryptoglandular Perianal Fistula"], "gastrointestinal"),
        (["Healthy"], "other"),
    ],
)
def test_condition_group_rules(conditions, expected):
    assert registry.condition_group(record(Condition=conditions)) == expected


@pytest.mark.parametrize(
    ("intervention", "expected"),
    [
        ("Autologous bone marrow aspirate concentrate (BMAC)", "bone marrow"),
        ("Allogeneic adipose-derived stem cells", "adipose"),
        ("Stromal vascular fraction", "adipose"),
        ("Wharton's jelly MSC", "umbilical cord/Wharton's jelly"),
        ("hUC-MSCs", "umbilical cord/Wharton's jelly"),
        ("Umbilical cord blood-derived MSC", "cord blood"),
        ("Placenta-derived decidual stromal cells", "placenta/amnion"),
        ("Dental pulp stem cells (DPSCs)", "dental pulp"),
        ("Menstrual blood-derived stem cells", "menstrual/endometrial"),
        ("iPSC-derived mesenchymal cells", "other"),
        ("Peripheral blood stem cell transplantation", "unspecified"),
        ("Mesenchymal stem cells", "unspecified"),
        ("Bone marrow MSC and umbilical cord MSC", "multiple"),
    ],
)
def test_cell_source_rules(intervention, expected):
    assert registry.cell_source(record(InterventionName=[intervention])) == expected


def test_svf_flag():
    assert registry.mentions_svf(record(InterventionName=["Autologous SVF injection"]))
    assert not registry.mentions_svf(record(InterventionName=["Culture-expanded AD-MSC"]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allogeneic MSC", "allogeneic"),
        ("allogenic mesenchymal stromal cells", "allogeneic"),
        ("Autologous MSC", "autologous"),
        ("the patient's own mesenchymal stem cells", "autologous"),
        ("autologous or allogeneic MSC", "both"),
        ("MSC", "unspecified"),
    ],
)
def test_donor_rules(text, expected):
    assert registry.donor(record(InterventionDescription=[text])) == expected


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        ([], ""),
        (["Phase 1", "Phase 2"], "Phase 1/2"),
        (["Not Applicable"], "N/A"),
        (["Early Phase 1"], "Early Phase 1"),
        (["Phase 2", "Phase 3"], "Phase 2/3"),
    ],
)
def test_phase_labels(phases, expected):
    assert registry.phase(record(Phase=phases)) == expected


def test_unknown_phase_is_a_data_error():
    with pytest.raises(DataError, match="Phase"):
        registry.phase(record(Phase=["Phase 5"]))


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (["Osteoarthritis, Hip"], True),
        (["Lumbar Discogenic Pain"], True),
        (["Trigeminal Neuralgia"], True),
        (["Achilles Tendinopathy"], True),
        (["Chronic Migraine"], True),
        (["Temporomandibular Disorder"], True),
        (["Knee Pain Chronic"], True),
        (["Interstitial Cystitis"], True),
        (["Rheumatoid Arthritis"], False),
        (["Pain, Postoperative"], False),
        (["Tibia Pseudo-arthrosis"], False),
        (["Rotator Cuff Tear"], False),
    ],
)
def test_chronic_pain_rules(conditions, expected):
    assert registry.chronic_pain(record(Condition=conditions)) is expected


@pytest.mark.parametrize(
    ("fields", "mention"),
    [
        ({"Condition": ["Fibromyalgia"]}, "condition"),
        ({"EligibilityCriteria": ["Exclusion Criteria:\n\nFibromyalgia"]}, "eligibility"),
        ({"ConditionAncestorTerm": ["Fibromyalgia"]}, "browse term only"),
        ({"Condition": ["Knee OA"]}, "none"),
    ],
)
def test_fm_mention_rules(fields, mention):
    assert registry.fm_mention(record(**fields)) == mention


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("Inclusion Criteria:\n\nAge > 18\n\nExclusion Criteria:\n\nfibromyalgia", "exclusion"),
        (
            "Inclusion Criteria:\n\nDiagnosis of fibromyalgia\n\nExclusion Criteria:\n\nCancer",
            "inclusion",
        ),
        ("Inclusion Criteria:\n\nNo fibromyalgia\n\nExclusion Criteria:\n\nCancer", "exclusion"),
        ("Key Exclusion Criteria\n- fibromyalgia", "exclusion"),
        ("4.2 Exclusion criteria\nfibromyalgia", "exclusion"),
        ("Patients with fibromyalgia are not eligible.", "unclear"),
        ("See Exclusion Criterion #6.\nfibromyalgia", "unclear"),
    ],
)
def test_fm_context_rules(text, context):
    r = record(EligibilityCriteria=[text])
    assert registry.fm_context(r) == context


def test_enrollment_not_a_number_is_a_data_error():
    with pytest.raises(DataError, match="EnrollmentCount"):
        registry.enrollment(record(EnrollmentCount=["about 30"]))


def test_start_year_from_both_date_forms():
    assert registry.start_year(record(StartDate=["April 2012"])) == 2012
    assert registry.start_year(record(StartDate=["March 3, 2020"])) == 2020
    assert registry.start_year(record()) is None


def test_load_snapshot_rejects_wrong_shape(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"NCT00000001": {"NCTId": "NCT00000001"}}), encoding="utf-8")
    with pytest.raises(DataError, match="list of strings"):
        registry.load_snapshot(bad)
    with pytest.raises(DataError, match="not found"):
        registry.load_snapshot(tmp_path / "missing.json.gz")


def test_derive_table_rejects_key_record_mismatch():
    with pytest.raises(DataError, match="NCT00000002"):
        registry.derive_table({"NCT00000002": record()})
