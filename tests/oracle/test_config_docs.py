"""The README's configuration table and .env.example say what oracle/config.py declares."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from oracle.config import VARIABLES
from tests.support import ROOT


@pytest.fixture(scope="module")
def docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_docs", ROOT / "scripts/config_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_table_is_the_declaration(docs: ModuleType) -> None:
    readme = (ROOT / "README.md").read_text()
    assert docs.updated_readme(readme) == readme, "README.md is out of date: make config-docs"
    for variable in VARIABLES:
        assert f"| `{variable.name}` |" in readme


def test_the_env_example_is_the_declaration(docs: ModuleType) -> None:
    example = (ROOT / ".env.example").read_text()
    assert docs.env_example() == example, ".env.example is out of date: make config-docs"
    listed = [line[1:].split("=", 1)[0] for line in example.splitlines() if line[:2] != "# "]
    listed = [name for name in listed if name]
    assert listed == [v.name for v in VARIABLES if v.in_env_file]


def test_the_env_example_is_a_valid_env_file_once_uncommented(docs: ModuleType, tmp_path) -> None:
    from oracle.config import environment, load_config

    uncommented = "\n".join(
        line[1:] if line.startswith("#") and not line.startswith("# ") else line
        for line in docs.env_example().splitlines()
    )
    (tmp_path / "example.env").write_text(uncommented)
    values = environment({"ORACLE_ENV_FILE": str(tmp_path / "example.env")})
    values["ORACLE_DATA_DIR"] = str(tmp_path)
    load_config(values)  # every default written out parses


def test_the_check_mode_reports_drift(docs: ModuleType, monkeypatch, tmp_path, capsys) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{docs.BEGIN}\n| old |\n{docs.END}\nrest\n")
    monkeypatch.setattr(docs, "README", readme)
    monkeypatch.setattr(docs, "ENV_EXAMPLE", tmp_path / ".env.example")
    assert docs.main(["--check"]) == 1
    assert "README.md is out of date" in capsys.readouterr().err
    assert docs.main([]) == 0
    assert docs.main(["--check"]) == 0
    assert readme.read_text().endswith(f"{docs.END}\nrest\n")
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="markers"):
        docs.main(["--check"])
