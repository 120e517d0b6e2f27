"""The format documentation in the repository is what the models say, and every field of the
schema is described."""

from __future__ import annotations

from pathlib import Path

from hallsim import Scenario
from hallsim.cli import main
from hallsim.docs import SECTIONS, scenario_format

ROOT = Path(__file__).resolve().parents[1]


def test_the_format_document_is_generated_from_the_models():
    document = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    assert document == scenario_format(), (
        "docs/scenario-format.md is stale: run "
        "`hallsim schema --markdown > docs/scenario-format.md`"
    )


def test_every_property_of_the_schema_has_a_description():
    schema = Scenario.model_json_schema()
    missing = [
        f"{name}.{key}"
        for name, node in [("Scenario", schema), *schema["$defs"].items()]
        for key, spec in node.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert missing == []


def test_every_model_of_the_schema_has_a_section():
    documented = {model.__name__ for _, model in SECTIONS}
    assert set(Scenario.model_json_schema()["$defs"]) <= documented


def test_the_command_line_prints_it(capsys):
    assert main(["schema", "--markdown"]) == 0
    assert capsys.readouterr().out == scenario_format()


def test_every_file_and_name_the_contributors_guide_points_to_exists():
    """CONTRIBUTING.md names files (``scenario.py``, ``tests/test_rules.py``) and functions
    (``_take_ticket``, ``with_back_office``): each must exist in the library or the tests,
    so the guide cannot drift from the code."""
    import re

    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    package = ROOT / "src" / "hallsim"
    files = [*package.rglob("*.py"), *(ROOT / "tests").glob("*.py")]
    sources = "\n".join(p.read_text(encoding="utf-8") for p in files)
    missing = []
    for name in set(re.findall(r"`([\w/.-]+\.(?:py|md|toml))`", text)):
        if not any((base / name).exists() for base in (ROOT, package)):
            missing.append(name)
    for name in set(re.findall(r"`(_?[a-z][a-z_]+)`", text)) - {"overall", "hallsim"}:
        if not re.search(rf"\b(def|class) {name}\b|^{name} = |\b{name}:", sources, re.M):
            missing.append(name)
    assert not missing, missing
