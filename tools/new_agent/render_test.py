import pytest

from tools.new_agent.names import KINDS, MAX_LENGTH
from tools.new_agent.render import Names, render


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_complete_agent_with_no_placeholder_left(kind: str) -> None:
    files = render(Names(agent="fraud_scorer", kind=kind))
    for folder in ("agents", "services", "pipelines"):
        assert f"{folder}/fraud_scorer/BUILD" in files
    for expected in ("model.py", "stages.py", "features.sql", "README.md", "champion/.gitignore"):
        assert f"agents/fraud_scorer/{expected}" in files
    assert {"pipelines/fraud_scorer/dvc.yaml", "pipelines/fraud_scorer/params.yaml"} <= set(files)
    assert "services/fraud_scorer/service_test.py" in files
    for path, content in files.items():
        assert "@@" not in content, path
        assert "agent1" not in content and "agent2" not in content and "agent3" not in content, path
        if path.endswith(".py"):
            compile(content, path, "exec")


def test_names_derive_model_and_service_class() -> None:
    names = Names(agent="fraud_scorer", kind="anomaly")
    assert names.model_name == "fraud-scorer-anomaly"
    assert names.service_class == "FraudScorerAnomalyScorer"
    files = render(names)
    assert (
        'agent(name="fraud_scorer", service_class="FraudScorerAnomalyScorer")'
        in files["agents/fraud_scorer/BUILD"]
    )
    assert "class FraudScorerAnomalyScorer(AgentService):" in files["services/fraud_scorer/service.py"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_longest_name_allowed_keeps_every_generated_line_inside_the_formatters_limit(kind: str) -> None:
    # Lines black and ruff would both leave alone: at most 110 characters before a trailing pragma.
    name = ("agent_" * 4)[:MAX_LENGTH].rstrip("_").ljust(MAX_LENGTH, "x")
    camel = "".join(part.capitalize() for part in name.split("_"))
    data = {
        "row_class": f"{camel}Row", "answer_class": f"{camel}Answer", "output_field": "probability",
        "target": "t", "positive": "p", "source_name": "s.csv", "sha256": "0", "rows": "1", "n_features": "1",
        "target_summary": "", "id_note": "", "left_out": "", "margin": "25%",
    }  # fmt: skip
    for facts in (None, data) if kind != "anomaly" else (None,):
        for path, content in render(Names(agent=name, kind=kind), data=facts).items():
            if path.endswith(".py"):
                for number, line in enumerate(content.splitlines(), 1):
                    code = line.split("  # type: ignore")[0].split("  # noqa")[0]
                    assert len(code) <= 110, f"{path}:{number} is {len(code)} characters"
