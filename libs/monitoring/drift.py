"""Data and prediction drift of a current sample against the training reference, per feature.

API::

    logged = read_predictions(directory, "agent2")                    # libs.monitoring.prediction_reader
    current = logged_inputs(logged).assign(output=logged["output"])
    summary = compare(
        reference, current,                    # pandas frames: training rows, logged rows
        features=FEATURES,
        psi_threshold=0.2, ks_pvalue_threshold=0.01,
        prediction_column="output",            # optional: drift of the model's answers, same tests
        label_column="quantity", metric=mean_absolute_error, metric_name="mae",  # optional
    )
    summary.drifted, summary.drifted_features, summary.to_dict()   # to_dict() is plain JSON
    psi(reference_values, current_values), ks_test(reference_values, current_values)

For prediction drift the reference needs the prediction column too: the champion's predictions on
the reference rows. Quality needs labels, which arrive later than predictions: join them onto the
logged rows first; rows without a label are left out of the metric.

Two tests because they fail differently: PSI (bins at the reference's quantiles) measures how much
of the mass moved and does not grow with sample size; the two-sample Kolmogorov-Smirnov test
catches any shift in shape but, on large samples, flags shifts too small to matter. A feature has
drifted when either crosses its threshold; the caller owns the thresholds (conventionally PSI 0.1
watch, 0.2 act; set ``ks_pvalue_threshold=0`` to rely on PSI alone). Missing values are dropped
before testing; a side left with no values yields ``None`` statistics and no verdict of drift.

Live traffic can hold hostile values (near 1e308): beside each mean, which one such row moves
anywhere, every feature carries its median and 5th/95th percentiles, and how many current values
fell below or above the reference's range; ``out_of_range_rows`` counts the current rows with any
feature outside it. Means and quantiles are computed so that such values cannot overflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

DEFAULT_BINS = 10
PSI_EPSILON = 1e-4
LOW_QUANTILE, HIGH_QUANTILE = 0.05, 0.95
Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float | None
    ks_statistic: float | None
    ks_pvalue: float | None
    drifted: bool
    flagged_by: list[str]  # which tests crossed their threshold: "psi", "ks"
    reference_count: int
    current_count: int
    reference_mean: float | None
    current_mean: float | None
    reference_median: float | None = None
    current_median: float | None = None
    reference_p05: float | None = None
    reference_p95: float | None = None
    current_p05: float | None = None
    current_p95: float | None = None
    current_below_reference: int = 0  # current values under the reference's minimum
    current_above_reference: int = 0  # and over its maximum


@dataclass(frozen=True)
class Quality:
    """A caller-supplied metric on labelled rows; which direction is worse is the caller's to judge."""

    metric: str
    current: float | None
    reference: float | None
    current_count: int


@dataclass(frozen=True)
class DriftSummary:
    features: list[FeatureDrift]
    psi_threshold: float
    ks_pvalue_threshold: float
    prediction: FeatureDrift | None = None
    quality: Quality | None = None
    out_of_range_rows: int = 0  # current rows with any feature outside the reference's range
    drifted_features: list[str] = field(init=False)
    drifted: bool = field(init=False)

    def __post_init__(self) -> None:
        names = [result.feature for result in self.features if result.drifted]
        object.__setattr__(self, "drifted_features", names)
        prediction_drifted = self.prediction is not None and self.prediction.drifted
        object.__setattr__(self, "drifted", bool(names) or prediction_drifted)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (no NaN), ready for ``atomic_write_json`` or a DVC metrics file."""
        return _json_safe(asdict(self))


def psi(
    reference: Sequence[float] | np.ndarray | pd.Series,
    current: Sequence[float] | np.ndarray | pd.Series,
    *,
    bins: int = DEFAULT_BINS,
    epsilon: float = PSI_EPSILON,
) -> float:
    """Population stability index over bins cut at the reference's quantiles.

    Quantile bins give each bin about the same reference mass, so no bin is empty on the reference
    side for continuous data; ties (discrete features) merge bins. The outer bins are open, so
    current values beyond the reference's range still count. Empty bins get ``epsilon`` instead of
    zero, which would make the logarithm infinite.
    """
    ref, cur = _clean(reference), _clean(current)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("psi needs at least one value on each side")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = _shares(ref, edges, epsilon)
    cur_share = _shares(cur, edges, epsilon)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def ks_test(
    reference: Sequence[float] | np.ndarray | pd.Series, current: Sequence[float] | np.ndarray | pd.Series
) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (scipy's ``ks_2samp``, two-sided)."""
    ref, cur = _clean(reference), _clean(current)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("ks_test needs at least one value on each side")
    result = ks_2samp(ref, cur)
    return float(result.statistic), float(result.pvalue)


def feature_drift(
    name: str,
    reference: Sequence[float] | np.ndarray | pd.Series,
    current: Sequence[float] | np.ndarray | pd.Series,
    *,
    psi_threshold: float,
    ks_pvalue_threshold: float,
    bins: int = DEFAULT_BINS,
) -> FeatureDrift:
    ref, cur = _clean(reference, name), _clean(current, name)

    def result(
        index: float | None, statistic: float | None, pvalue: float | None, flagged_by: list[str]
    ) -> FeatureDrift:
        ref_median, ref_p05, ref_p95 = quantiles(ref, (0.5, LOW_QUANTILE, HIGH_QUANTILE))
        cur_median, cur_p05, cur_p95 = quantiles(cur, (0.5, LOW_QUANTILE, HIGH_QUANTILE))
        below, above = outside(ref, cur)
        return FeatureDrift(
            name,
            index,
            statistic,
            pvalue,
            bool(flagged_by),
            flagged_by,
            int(ref.size),
            int(cur.size),
            mean(ref),
            mean(cur),
            ref_median,
            cur_median,
            ref_p05,
            ref_p95,
            cur_p05,
            cur_p95,
            int(below.sum()),
            int(above.sum()),
        )

    if ref.size == 0 or cur.size == 0:
        return result(None, None, None, [])
    index = psi(ref, cur, bins=bins)
    statistic, pvalue = ks_test(ref, cur)
    tests = (("psi", index >= psi_threshold), ("ks", pvalue < ks_pvalue_threshold))
    return result(index, statistic, pvalue, [test for test, crossed in tests if crossed])


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    features: Sequence[str],
    psi_threshold: float,
    ks_pvalue_threshold: float,
    prediction_column: str | None = None,
    label_column: str | None = None,
    metric: Metric | None = None,
    metric_name: str | None = None,
    bins: int = DEFAULT_BINS,
) -> DriftSummary:
    """Drift of every feature, of the predictions if named, and quality where labels and a metric are given.

    ``metric(y_true, y_pred)`` follows scikit-learn's argument order, so ``mean_absolute_error``
    or ``roc_auc_score`` can be passed as they are; it needs ``prediction_column`` too.
    """
    if psi_threshold <= 0 or not 0 <= ks_pvalue_threshold <= 1:
        raise ValueError("psi_threshold must be > 0 and ks_pvalue_threshold within [0, 1]")
    missing = [name for name in features if name not in reference or name not in current]
    if missing:
        raise KeyError(f"features missing from the reference or current frame: {missing}")

    def drift_of(name: str) -> FeatureDrift:
        return feature_drift(
            name,
            reference[name],
            current[name],
            psi_threshold=psi_threshold,
            ks_pvalue_threshold=ks_pvalue_threshold,
            bins=bins,
        )

    results = [drift_of(name) for name in features]
    prediction = None
    if prediction_column is not None:
        if prediction_column not in current or prediction_column not in reference:
            raise KeyError(
                f"prediction column {prediction_column!r} missing from the reference or current frame"
            )
        prediction = drift_of(prediction_column)
    quality = None
    if label_column is not None and metric is not None:
        if prediction_column is None:
            raise ValueError("model quality needs prediction_column as well as label_column")
        quality = Quality(
            metric=metric_name or str(getattr(metric, "__name__", "metric")),
            current=_score(current, label_column, prediction_column, metric),
            reference=_score(reference, label_column, prediction_column, metric),
            current_count=_labelled(current, label_column, prediction_column)[0].size,
        )
    out_of_range = np.zeros(len(current), dtype=bool)
    for name in features:
        ref, cur = _clean(reference[name], name), _numbers(current[name])
        below, above = outside(ref, cur)
        out_of_range |= below | above
    return DriftSummary(
        results, psi_threshold, ks_pvalue_threshold, prediction, quality, int(out_of_range.sum())
    )


def mean(values: np.ndarray) -> float | None:
    """The mean of finite values, summing ``value / n``: no partial sum can overflow, even near 1e308."""
    return float(np.sum(values / values.size)) if values.size else None


def quantiles(values: np.ndarray, levels: Sequence[float]) -> list[float | None]:
    """Linear-interpolated quantiles (numpy's default) computed as ``a * (1 - t) + b * t``, which
    cannot overflow between two huge values of opposite sign, where ``a + (b - a) * t`` does."""
    if values.size == 0:
        return [None for _ in levels]
    ordered = np.sort(values)
    result: list[float | None] = []
    for level in levels:
        position = level * (ordered.size - 1)
        low = int(np.floor(position))
        high = min(low + 1, ordered.size - 1)
        weight = position - low
        result.append(float(ordered[low] * (1 - weight) + ordered[high] * weight))
    return result


def outside(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the current values below and above the reference's range (none when it is empty);
    missing current values are in neither."""
    if reference.size == 0:
        return np.zeros(current.size, dtype=bool), np.zeros(current.size, dtype=bool)
    with np.errstate(invalid="ignore"):  # NaN compares False: missing is not out of range
        return current < reference.min(), current > reference.max()


def _clean(values: Sequence[float] | np.ndarray | pd.Series, name: str = "values") -> np.ndarray:
    array = _numbers(values, name)
    return array[np.isfinite(array)]


def _numbers(values: Sequence[float] | np.ndarray | pd.Series, name: str = "values") -> np.ndarray:
    """Every value as float64, missing ones as NaN (row positions kept)."""
    series = pd.Series(values)
    if not (pd.api.types.is_numeric_dtype(series) or series.isna().all()):
        raise TypeError(f"{name}: drift tests need numbers, got {series.dtype}")
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _shares(values: np.ndarray, edges: np.ndarray, epsilon: float) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
    return np.maximum(counts / values.size, epsilon)


def _labelled(frame: pd.DataFrame, label: str, prediction: str) -> tuple[np.ndarray, np.ndarray]:
    if label not in frame or prediction not in frame:
        return np.array([]), np.array([])
    rows = frame[[label, prediction]].dropna()
    return rows[label].to_numpy(), rows[prediction].to_numpy()


def _score(frame: pd.DataFrame, label: str, prediction: str, metric: Metric) -> float | None:
    truth, predicted = _labelled(frame, label, prediction)
    return float(metric(truth, predicted)) if truth.size else None


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
