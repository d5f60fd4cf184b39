"""Every safety signal is described, with agreement between numbers and words."""

from __future__ import annotations

import pandas as pd

from mscfm import signals


def _rows() -> pd.DataFrame:
    return pd.DataFrame({
        "source": ["wang2021safety", "wang2021safety", "thompson2020cell", "thompson2020cell"],
        "outcome": ["sleeplessness", "fever", "death", "malignancy"],
        "measure": ["OR", "OR", "RR", "RR"],
        "estimate": [5.90, 3.65, 0.78, 0.93], "ci_lb": [1.04, 2.05, 0.65, 0.60],
        "ci_ub": [33.47, 6.49, 0.94, 1.45],
        "reading": [signals.MORE, signals.MORE, signals.LESS, signals.UNCLEAR]})


def test_every_signal_is_named_with_its_numbers() -> None:
    text = signals.signal_text(_rows())
    for outcome in _rows()["outcome"]:
        assert outcome in text
    assert "odds ratio 5.90, 95% CI 1.04 to 33.47; Wang 2021" in text
    assert "2 ratios have a 95% CI entirely above 1" in text
    assert "1 ratio lies entirely below 1" in text and "1 ratio includes 1" in text


def test_wide_intervals_and_fm_symptoms_are_pointed_out_in_agreement() -> None:
    text = signals.signal_text(_rows())
    assert "1 of these intervals is wide, the upper limit more than 5 times the lower " \
           "(sleeplessness)" in text
    assert "Sleeplessness is also a core symptom of FM" in text and "adds it works" in text
    both = _rows().assign(outcome=["sleeplessness", "fatigue", "death", "malignancy"])
    assert "Sleeplessness and fatigue are also core symptoms" in signals.signal_text(both)
