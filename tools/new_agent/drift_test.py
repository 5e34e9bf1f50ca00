"""The templates cannot drift from the example agents they mirror.

Each kind's service template, rendered with the names of the example agent of that kind, must equal
that agent's own service line for line, except for the lines listed in ``INTENDED``: a change made
to an example agent's service and not to its template (or the reverse) fails here, naming the lines.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tools.new_agent.render import TEMPLATES, AgentTemplate

# kind -> (example agent, its service class, its registered model name)
EXAMPLES = {
    "anomaly": ("agent1", "TransactionSentinel", "agent1-transaction-sentinel"),
    "regressor": ("agent2", "DemandForecaster", "agent2-demand-forecaster"),
    "classifier": ("agent3", "ChurnClassifier", "agent3-churn-classifier"),
}

# Lines that may differ, as (kind, "-" for the agent's line or "+" for the template's, the line).
INTENDED: set[tuple[str, str, str]] = {
    # agent3's champion starts with a FormulaTransformer that finds its columns by name; a generated
    # classifier takes a plain matrix in FEATURES order, checked in that order on load.
    ("classifier", "-", "from sklearn.pipeline import Pipeline"),
    ("classifier", "-", "from libs.features import FormulaTransformer"),
    (
        "classifier",
        "-",
        "from libs.serving.features import check_feature_names, ignore_unnamed_features_warning",
    ),
    (
        "classifier",
        "+",
        "from libs.serving.features import check_feature_names, column_matrix, ignore_unnamed_features_warning",  # noqa: E501
    ),
    (
        "classifier",
        "-",
        '    """The champion takes named columns (a FormulaTransformer first) fitted on FEATURES, in any order."""',  # noqa: E501
    ),
    ("classifier", "-", "    model = champion.model"),
    ("classifier", "-", '    if not hasattr(model, "predict_proba"):'),
    ("classifier", "+", '    if not hasattr(champion.model, "predict_proba"):'),
    ("classifier", "-", "    first = model[0] if isinstance(model, Pipeline) else model"),
    ("classifier", "-", "    if not isinstance(first, FormulaTransformer):"),
    ("classifier", "-", "        raise TypeError("),
    (
        "classifier",
        "-",
        '            f"{champion.model_name} v{champion.model_version} does not start with a FormulaTransformer,"',  # noqa: E501
    ),
    ("classifier", "-", '            " so it cannot take named columns"'),
    ("classifier", "-", "        )"),
    (
        "classifier",
        "-",
        "    check_feature_names(champion, FEATURES, ordered=False)  # the FormulaTransformer finds columns by name",  # noqa: E501
    ),
    ("classifier", "+", "    check_feature_names(champion, FEATURES)"),
    (
        "classifier",
        "-",
        '    """One float64 array per feature, by name: what the FormulaTransformer takes without pandas."""',
    ),
    (
        "classifier",
        "-",
        "    columns = {name: np.array([getattr(row, name) for row in rows], dtype=np.float64) for name in FEATURES}",  # noqa: E501
    ),
    ("classifier", "-", "    return model.predict_proba(columns)[:, 1]  # type: ignore[attr-defined]"),
    (
        "classifier",
        "+",
        "    return model.predict_proba(column_matrix(rows, FEATURES))[:, 1]  # type: ignore[attr-defined]",
    ),
}


def _root() -> Path:
    return Path(__file__).resolve().parents[2]


def _rendered(kind: str, relative: str) -> list[str]:
    agent, service_class, model_name = EXAMPLES[kind]
    template = TEMPLATES / kind / relative.replace(agent, "AGENT", 1)
    mapping = {"agent": agent, "kind": kind, "service_class": service_class, "model_name": model_name}
    return (
        AgentTemplate(template.with_suffix(template.suffix + ".tmpl").read_text())
        .substitute(mapping)
        .splitlines()
    )


def differences(kind: str, relative: str) -> set[tuple[str, str, str]]:
    ours = (_root() / relative).read_text().splitlines()
    diff = difflib.unified_diff(ours, _rendered(kind, relative), lineterm="", n=0)
    return {
        (kind, line[0], line[1:])
        for line in diff
        if line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:].strip()
    }


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_service_template_renders_to_its_example_agents_service(kind: str) -> None:
    agent = EXAMPLES[kind][0]
    unexpected = differences(kind, f"services/{agent}/service.py") - INTENDED
    assert not unexpected, "template and example agent differ:\n" + "\n".join(
        f"{sign} {line}" for _, sign, line in sorted(unexpected, key=lambda item: item[1])
    )


def test_every_intended_difference_still_exists() -> None:
    """An allow-list entry that no longer differs is stale: delete it, so the list stays the truth."""
    seen = set().union(
        *(differences(kind, f"services/{agent}/service.py") for kind, (agent, _, _) in EXAMPLES.items())
    )
    assert not INTENDED - seen, sorted(INTENDED - seen)
