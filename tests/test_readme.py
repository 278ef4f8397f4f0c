"""The README is the operator's manual: it must keep up with the settings and commands."""

from __future__ import annotations

from pathlib import Path

from editai.cli import build_parser
from editai.settings import Settings

README_PATH = Path(__file__).resolve().parents[1] / "README.md"
README = README_PATH.read_text()


def test_every_setting_is_documented() -> None:
    missing = [
        f"EDITAI_{name.upper()}"
        for name in Settings.model_fields
        if f"EDITAI_{name.upper()}" not in README
    ]
    assert not missing, f"settings missing from README.md: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    head = README[: README.index("## First query")]
    assert "./scripts/serve" in head
    assert "./scripts/test" in head
    for script in ("scripts/serve", "scripts/test", ".ci/run"):
        path = Path(__file__).resolve().parents[1] / script
        assert path.exists(), f"{script} is missing"
        assert path.stat().st_mode & 0o111, f"{script} must be executable"


def test_every_cli_command_is_documented() -> None:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    for command in subparsers.choices:  # type: ignore[union-attr]
        assert f"editai {command}" in README, f"`editai {command}` missing from README.md"


def test_every_curl_example_is_a_valid_operation() -> None:
    """The ``q '{"query": ...}'`` examples validate against the committed schema."""
    import json
    import re

    from graphql import build_schema, parse, validate

    schema = build_schema((README_PATH.parent / "schema.graphql").read_text())
    bodies = re.findall(r"q '(\{.*?\})'", README)
    assert len(bodies) >= 10, "the README's curl examples moved: update this test"
    for body in bodies:
        query = json.loads(body)["query"]
        errors = validate(schema, parse(query))
        assert not errors, f"{query}: {errors}"
