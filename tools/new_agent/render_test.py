import pytest

from tools.new_agent.names import KINDS
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
