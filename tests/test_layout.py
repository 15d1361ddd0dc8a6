"""docs/contributing.md says where every behaviour lives; keep it true as the tree changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "contributing.md"


def test_every_module_is_placed_in_the_layout_doc() -> None:
    text = DOC.read_text()
    modules = sorted(
        p.relative_to(ROOT / "codev_git").as_posix()
        for p in (ROOT / "codev_git").rglob("*.py")
        if p.name not in {"__init__.py", "__main__.py"}
    )
    packages = {m.split("/")[0] for m in modules if "/" in m}
    missing = [
        m for m in modules if f"`{m}`" not in text and f"`{m.split('/', 1)[-1]}`" not in text
    ]
    assert not missing, f"add these to docs/contributing.md: {missing}"
    assert all(f"`{pkg}/`" in text for pkg in packages)


def test_output_and_processes_stay_where_the_doc_says() -> None:
    """Only the CLI writes to stderr; only the store starts processes or uses GitPython;
    ref names are spelled only in the layout module."""

    def grep(pattern: str) -> set[str]:
        out = subprocess.run(
            ["git", "grep", "-lE", pattern, "--", "codev_git"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return set(out.split())

    assert grep(r"print\(.*stderr") <= {"codev_git/commands/console.py"}
    assert {f for f in grep(r"^\s*(import subprocess|import git$|from git)")} <= {
        f for f in grep(".") if f.startswith("codev_git/store/")
    }
    assert grep(r"refs/codev/") <= {"codev_git/layout.py"}
    assert not [f for f in grep(r'"codev\.[a-zA-Z]') if f != "codev_git/config.py"]


def test_no_two_modules_of_a_package_differ_only_by_a_suffix() -> None:
    """No families such as thread.py / thread_edit.py / thread_render.py: a family is a
    package waiting to be made."""
    for package in [ROOT / "codev_git", *(ROOT / "codev_git").iterdir()]:
        if not package.is_dir():
            continue
        names = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
        heads = [n.split("_", 1)[0] for n in names if "_" in n]
        families = {h for h in heads if heads.count(h) > 1 or h in names}
        assert not families, f"{package.name}: module families {sorted(families)}"
