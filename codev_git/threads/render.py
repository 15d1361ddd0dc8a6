"""Writing thread files: the jinja2 template and the generated blocks between markers.

This is the only module that imports jinja2, and only when a template is rendered.
A repository overrides the packaged template with ``codev/templates/THREAD.md.j2``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from codev_git.errors import OperationalError
from codev_git.messaging.render import visible
from codev_git.ownership.builder_state import BuilderRow

TEMPLATE_NAME = "THREAD.md.j2"
OVERRIDE = f"codev/templates/{TEMPLATE_NAME}"
SUBJECT_MAX = 60


def template_source(root: Path) -> tuple[str, str]:
    """(source, label) of the template: the repository's override, else the packaged one."""
    override = root / OVERRIDE
    if override.is_file():
        try:
            return override.read_text(encoding="utf-8"), OVERRIDE
        except (OSError, UnicodeDecodeError) as exc:
            raise OperationalError(f"cannot read {OVERRIDE}: {exc}", "fix or remove it") from exc
    packaged = resources.files("codev_git.templates").joinpath(TEMPLATE_NAME)
    return packaged.read_text(encoding="utf-8"), f"the packaged {TEMPLATE_NAME}"


def render_template(source: str, label: str, values: dict[str, Any]) -> str:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    # sandboxed: the repository's override is committed data, possibly from another clone
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    env.filters["quoted"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    try:
        return env.from_string(source).render(**values)
    except jinja2.TemplateSyntaxError as exc:
        raise OperationalError(
            f"{label} line {exc.lineno}: template syntax error: {exc.message}",
            f"fix {label}" if label == OVERRIDE else "reinstall git-codev",
        ) from exc
    except jinja2.TemplateError as exc:
        raise OperationalError(
            f"{label} cannot be rendered: {exc.message or type(exc).__name__}",
            f"it may use: {', '.join(sorted(values))}",
        ) from exc


# -- generated blocks ----------------------------------------------------------------------------
def marker(block: str, end: str) -> str:
    return f"<!-- codev:{block}:{end} -->"


def replace_block(text: str, block: str, content: str) -> str | None:
    """``text`` with the lines between the block's markers replaced; None without markers."""
    lines = text.splitlines(keepends=True)
    stripped = [line.strip() for line in lines]
    begin, end = marker(block, "begin"), marker(block, "end")
    if stripped.count(begin) != 1 or stripped.count(end) != 1:
        return None
    start, stop = stripped.index(begin), stripped.index(end)
    if stop < start:
        return None
    newline = "\r\n" if lines[start].endswith("\r\n") else "\n"
    body = [line + newline for line in content.splitlines()]
    return "".join(lines[: start + 1] + body + lines[stop:])


def cell(text: str) -> str:
    """Text made safe for one markdown table cell."""
    return visible(text).replace("\n", " ").replace("|", "\\|")


def roster_markdown(
    builders: list[BuilderRow], base: str | None, thread: str, *, behind: bool = False
) -> str:
    """The roster table. ``behind`` counts move with every commit on the base branch, so the
    stored copy leaves them out (a refresh would otherwise never be up to date)."""
    if not builders:
        return (
            f"_No builders in this thread yet: `git codev spawn N --protocol P --thread {thread}`._"
        )
    against = f"`{base}`" if base else "base"
    head = f"+ahead / -behind {against}" if behind else f"ahead of {against}"
    out = [
        f"| Builder | Branch | Work | State | {head} | Last commit |",
        "|---|---|---|---|---|---|",
    ]
    for row in builders:
        rec, state = row.record, row.state
        work = f"{rec.protocol} #{rec.issue}" if rec.issue else cell(rec.task or rec.protocol or "")
        counts = "-"
        if state.exists:
            counts = f"+{state.ahead} / -{state.behind}" if behind else str(state.ahead)
        last = "-"
        if row.branch_state == "new":
            last = "(no commits yet)"
        elif state.tip is not None:
            subject = state.last_subject or ""
            if len(subject) > SUBJECT_MAX:
                subject = subject[:SUBJECT_MAX] + "..."
            last = f"`{state.tip[:10]}` {cell(subject)}"
        out.append(
            f"| {rec.builder} | `{rec.branch_name}` | {work} | {row.branch_state} | {counts} "
            f"| {last} |"
        )
    return "\n".join(out)


def merges_markdown(builders: list[BuilderRow], base: str | None) -> str:
    if not builders:
        return "_No builder branches yet._"
    into = f"`{base}`" if base else "the base branch"
    out = []
    for row in builders:
        rec, state = row.record, row.state
        if not state.exists:
            line = f"- [ ] `{rec.branch_name}` ({rec.builder}): branch gone, not merged"
        elif state.merged:
            line = f"- [x] `{rec.branch_name}` ({rec.builder}): merged into {into}"
        else:
            line = f"- [ ] `{rec.branch_name}` ({rec.builder}): open, {state.ahead} ahead of {into}"
        out.append(line)
    return "\n".join(out)


def split_history(
    builders: list[BuilderRow], keep: int
) -> tuple[list[BuilderRow], list[BuilderRow]]:
    """(shown, history): live builders and the ``keep`` most recently finished (merged, or
    branch gone) stay in view, in their order; older finished ones go to the history."""
    finished = [r for r in builders if not r.state.exists or r.state.merged]
    finished.sort(key=lambda r: (r.state.last_time or 0, r.record.builder), reverse=True)
    older = {id(r) for r in finished[max(keep, 0) :]}
    return [r for r in builders if id(r) not in older], [r for r in builders if id(r) in older]


def history_markdown(older: list[BuilderRow], base: str | None) -> str:
    """The collapsed section that keeps a long-running thread file a page long."""
    lines = merges_markdown(older, base).splitlines()
    return "\n".join(
        [
            "",
            "<details>",
            f"<summary>History: {len(older)} earlier builder{'s' if len(older) != 1 else ''}"
            "</summary>",
            "",
            *lines,
            "",
            "</details>",
        ]
    )


def blocks(
    builders: list[BuilderRow], base: str | None, thread: str, keep: int = 20
) -> dict[str, str]:
    """The generated blocks; ``keep`` is ``codev.threadHistory``."""
    shown, older = split_history(builders, keep)
    history = history_markdown(older, base) if older else ""
    return {
        "roster": roster_markdown(shown, base, thread) + history,
        "merges": merges_markdown(shown, base),
    }
