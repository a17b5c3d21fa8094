#!/usr/bin/env python
"""Write the README's configuration table and `.env.example` from `oracle.config.VARIABLES`.

python scripts/config_docs.py           # rewrite both (`make config-docs`)
python scripts/config_docs.py --check   # exit 1 naming the files that are out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from oracle.config import VARIABLES, Variable  # noqa: E402

README = ROOT / "README.md"
ENV_EXAMPLE = ROOT / ".env.example"
BEGIN = "<!-- configuration table: generated from oracle/config.py by `make config-docs` -->"
END = "<!-- end of the configuration table -->"
ENV_HEADER = """\
# oracle configuration, every variable with its default.
# Copy this file to .env in the working directory of the service (or point ORACLE_ENV_FILE at
# it; it also works as a systemd EnvironmentFile=) and uncomment what you change. A variable set
# in the real environment wins over the file.
# Generated from oracle/config.py by `make config-docs`: edit the declaration there, not here.
"""


def shown_default(variable: Variable) -> str:
    """The default as the README shows it (Markdown)."""
    if variable.shown_default is not None:
        return variable.shown_default
    if variable.default is None:
        return "unset"
    if variable.default == "":
        return "empty"
    return f"`{variable.default}`"


def readme_table() -> str:
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {shown_default(v)} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(rows)


def env_example() -> str:
    blocks = [ENV_HEADER]
    for variable in VARIABLES:
        if not variable.in_env_file:
            continue
        literal = variable.default if isinstance(variable.default, str) else ""
        meaning = f"{variable.meaning} Default: {shown_default(variable)}.".replace("`", "")
        blocks.append(f"# {meaning}\n#{variable.name}={literal}\n")
    return "\n".join(blocks)


def updated_readme(text: str) -> str:
    """The README with the table between the markers replaced."""
    head, found, rest = text.partition(BEGIN + "\n")
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise SystemExit(f"{README.name}: the markers of the configuration table are missing")
    return f"{head}{BEGIN}\n{readme_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    wanted = {README: updated_readme(README.read_text()), ENV_EXAMPLE: env_example()}
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.name} is out of date: run `make config-docs`", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"wrote {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
