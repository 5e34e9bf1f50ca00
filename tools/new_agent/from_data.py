"""The files an agent scaffolded from a dataset gets beyond its templates, and the facts its
templates are filled with: its column declaration, its sample rows and its model card's data.
"""

from __future__ import annotations

from tools.new_agent.dataset import MARGIN, OUTPUT_FIELDS, Dataset
from tools.new_agent.declaration import columns_module, sample_module
from tools.new_agent.render import Names

INPUT = "data/{agent}/input/rows.parquet"


def input_path(agent: str) -> str:
    """Where the agent's own copy of its data lives: under data/, beside its pipeline's outputs."""
    return INPUT.format(agent=agent)


def template_facts(names: Names, data: Dataset) -> dict[str, str]:
    """Placeholders of the dataset templates."""
    camel = names.service_class
    if data.target_counts:
        summary = ", ".join(f"`{value}`: {count} rows" for value, count in data.target_counts)
        positive = data.target_counts[1][0]
    else:
        summary, positive = f"mean {data.target_mean:.6g}", ""
    left_out = ", ".join(f"`{name}` ({why})" for name, why in data.left_out) or "none"
    id_note = f"Rows are grouped by `{data.id.name}` in the split." if data.id else "No id column."
    return {
        "row_class": f"{camel}Row",
        "output_field": OUTPUT_FIELDS[names.kind],
        "answer_class": f"{camel}Answer",
        "target": data.target.name,
        "positive": positive,
        "source_name": data.source.name,
        "sha256": data.sha256,
        "rows": str(data.rows),
        "n_features": counted(len(data.features), "feature column"),
        "target_summary": summary,
        "id_note": id_note,
        "left_out": left_out,
        "margin": f"{MARGIN:.0%}",
    }


def counted(count: int, noun: str) -> str:
    """``1 feature column``, ``3 feature columns``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def generated_files(agent: str, data: Dataset) -> dict[str, str]:
    """The declaration and the sample, written from the data rather than from templates."""
    return {
        f"agents/{agent}/columns.py": columns_module(agent, data),
        f"agents/{agent}/sample_rows.py": sample_module(agent, data),
    }
