import pytest

from tools.new_agent.edits import (
    RepositoryShapeError,
    add_to_codeowners,
    add_to_macros,
    add_to_pants_toml,
    agent_resolves,
    copied_lockfile,
    pants_resolves,
)

MACROS = 'X = 1\nAGENT_RESOLVES = (\n    "agent1",\n    "agent2",\n)\n\n\ndef agent():\n    pass\n'
PANTS_TOML = (
    '[python]\nx = 1\n[python.resolves]\nagent1 = "3rdparty/python/agent1.lock"\n'
    'agent2 = "3rdparty/python/agent2.lock"\nserving = "3rdparty/python/serving.lock"\n\n[other]\ny = 2\n'
)


def test_macros_gain_the_resolve_and_keep_their_shape() -> None:
    edited = add_to_macros(MACROS, "fraud")
    assert agent_resolves(edited) == ["agent1", "agent2", "fraud"]
    assert edited.replace('    "fraud",\n', "") == MACROS


def test_pants_toml_gains_the_lockfile_after_the_last_agent() -> None:
    edited = add_to_pants_toml(PANTS_TOML, "fraud", after="agent2")
    assert pants_resolves(edited) == ["agent1", "agent2", "fraud", "serving"]
    assert 'fraud = "3rdparty/python/fraud.lock"\nserving' in edited


def test_unexpected_shapes_are_errors_not_guesses() -> None:
    with pytest.raises(RepositoryShapeError):
        agent_resolves("AGENT_RESOLVES = ('agent1',)\n")
    with pytest.raises(RepositoryShapeError):
        add_to_pants_toml(PANTS_TOML, "fraud", after="agent9")


def test_copied_lockfile_names_its_own_resolve() -> None:
    lock = "//    ./pants generate-lockfiles --resolve=agent1\n// rest\n{}\n"
    assert copied_lockfile(lock, source="agent1", name="fraud") == (
        "//    ./pants generate-lockfiles --resolve=fraud\n// rest\n{}\n"
    )


def test_a_new_agent_gets_its_codeowners_lines_after_the_last_agents() -> None:
    codeowners = (
        "*  @YOUR-ORG/platform\n\n/agents/agent1/         @YOUR-ORG/agent1-owners\n"
        "/pipelines/agent1/      @YOUR-ORG/agent1-owners\n\n/services/coordinator/  @YOUR-ORG/platform\n"
    )
    edited = add_to_codeowners(codeowners, "fraud")
    long_name = add_to_codeowners(codeowners, "a_long_agent_name")
    assert "/pipelines/a_long_agent_name/ @YOUR-ORG/a-long-agent-name-owners" in long_name
    assert edited.index("/pipelines/fraud/") < edited.index("/services/coordinator/")
    owned = [line.split() for line in edited.splitlines() if "fraud" in line]
    assert owned == [
        [f"/{top}/fraud/", "@YOUR-ORG/fraud-owners"] for top in ("agents", "services", "pipelines")
    ]
