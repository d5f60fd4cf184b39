"""Meta-analysis that reproduces metafor (numpy/scipy only, array-likes in).

Models: equal effects (``EE``, inverse variance) and random effects with the DerSimonian-Laird
(``DL``, tau^2 clipped at 0), restricted maximum likelihood (``REML``, metafor's Fisher scoring
from the Hedges start, threshold 1e-5) or Paule-Mandel (``PM``) estimator; ``test="z"`` or
Knapp-Hartung (``"knha"``, t with k - p df, no truncation); moderators (:func:`rma_mods`);
Mantel-Haenszel and Peto pooling of 2x2 tables (:func:`rma_mh`, :func:`rma_peto`).

Definitions pinned to metafor (see tests/fixtures/metafor, and generate.R there):

- Q is always the equal-effects Q (weights 1/vi).
- I^2 and H^2: for EE from Q, ``I2 = max(0, (Q - df)/Q)``, ``H2 = Q/df``; for random-effects
  models from tau^2, ``I2 = tau2/(tau2 + s2)``, ``H2 = (tau2 + s2)/s2`` with the "typical"
  sampling variance ``s2 = (k - p) / tr(P)`` (identical to the Q-based values for DL).
- Prediction interval: ``estimate +- crit * sqrt(se^2 + tau2)`` with crit from z, or t(k - 1)
  when ``test="knha"`` (not Riley's k - 2).

Where the numbers differ from metafor's defaults, and by how much (metafor 3.8.1, measured on
the sets in tests/fixtures/metafor/precision.json and confint_precision.json):

- Paule-Mandel tau^2 is the exact root of Q(tau^2) = k - p (Newton's method to ~1e-13, Brent
  to 1e-12 with moderators). metafor's ``uniroot`` stops at its tolerance eps^0.25 (1.2e-4): its
  default tau^2 is off the root by 2.5e-5 for dat.bcg (0.3180937 vs 0.3180685), 9.4e-6 for
  dat.egger2001 and 3.2e-7 for dat.molloy2014; with ``control=list(tol=1e-12)`` metafor gives
  our value.
- REML in the interior follows metafor's Fisher scoring and its 1e-5 threshold, so it equals
  metafor's default output (to 1e-9); that output is itself off the exact root by up to 9.4e-7
  on these sets. At the boundary REML returns exactly 0 when the restricted likelihood
  decreases from tau^2 = 0, where metafor's iteration can stop at a small positive value (4.7e-6
  on the ``reml_boundary`` set; the estimate moves by 3.5e-8). Where Fisher scoring does not
  converge in 100 steps metafor stops with an error; here the score equation is solved by Brent.
- The Q-profile CI for tau^2 (:func:`tau2_ci`) is solved to 1e-12. metafor's bounds carry its
  uniroot tolerance (dat.molloy2014 lower bound 0.0017010 vs the root 0.0016952, which moves
  the I^2 bound by 0.065 points; dat.bcg 0.119695 vs 0.119718) and are capped at
  max(100, 10 tau^2): for yi = 0, 20, 50 with vi = 1 metafor's upper bound is that cap, 6323.3,
  against the root 25014.3. ``tol=METAFOR_TOL`` reproduces metafor's printed 4 decimals on
  ordinary data.
- Refused where metafor returns NA, Inf or a warning: non-finite input or output, a zero
  standard error under Knapp-Hartung (metafor sets s2w = 0 and prints an infinite z),
  leave-one-out of a random-effects model with k = 2, and influence diagnostics with
  k < p + 2 (metafor fits the one-study or saturated models that these leave).
"""

from mscfm.meta._core import (
    EXACT_TOL,
    METAFOR_TOL,
    METHODS,
    RATIO_MEASURES,
    REML_THRESHOLD,
    TESTS,
    jsonable,
)
from mscfm.meta.bias import (
    EGGER_MODELS,
    TRIMFILL_REFITS,
    EggerResult,
    RankResult,
    TrimFillResult,
    egger_test,
    rank_test,
    trimfill,
)
from mscfm.meta.binary import MH_MEASURES, BinaryPoolResult, rma_mh, rma_peto
from mscfm.meta.model import MetaResult, Tau2CI, back_transform, estimate_tau2, rma, tau2_ci
from mscfm.meta.regression import (
    INTERCEPT,
    Coefficient,
    MetaRegression,
    design_matrix,
    rma_mods,
)
from mscfm.meta.sensitivity import (
    InfluenceRow,
    StudyFit,
    cumulative,
    influence,
    leave1out,
    min_k_leave1out,
)
from mscfm.meta.subgroups import TAU2_MODES, SubgroupResult, subgroups

__all__ = [
    "EGGER_MODELS", "EXACT_TOL", "INTERCEPT", "METAFOR_TOL", "METHODS", "MH_MEASURES",
    "RATIO_MEASURES", "REML_THRESHOLD", "TAU2_MODES", "TESTS", "TRIMFILL_REFITS",
    "BinaryPoolResult", "Coefficient", "EggerResult", "InfluenceRow", "MetaRegression",
    "MetaResult", "RankResult", "StudyFit", "SubgroupResult", "Tau2CI", "TrimFillResult",
    "back_transform", "cumulative", "design_matrix", "egger_test", "estimate_tau2",
    "influence", "jsonable", "leave1out", "min_k_leave1out", "rank_test", "rma", "rma_mh",
    "rma_mods", "rma_peto", "subgroups", "tau2_ci", "trimfill",
]
