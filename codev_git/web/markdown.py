"""Markdown to HTML that cannot carry markup of its own.

markdown-it-py with raw HTML turned off escapes every ``<`` in the source; its link validator
refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links. Control characters and
invisible format characters (ANSI escapes, bidi overrides, zero-width) are made visible first,
as in terminal output, so a file cannot disguise what it says.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from codev_git.messaging.render import visible

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# the roster/merge-state markers `thread refresh` writes are HTML comments: drop them
_MARKER = re.compile(r"^\s*<!--\s*codev:[a-z:-]+\s*-->\s*$", re.MULTILINE)
MAX_SOURCE = 512 * 1024


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    return md


def strip_front_matter(text: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        for n, line in enumerate(lines[1:], start=1):
            if line.strip() == "---":
                return "".join(lines[n + 1 :])
    return text


def render(text: str) -> str:
    """Safe HTML for markdown ``text``."""
    md = _parser()
    tokens = md.parse(visible(text[:MAX_SOURCE]))
    for token in tokens:
        for child in token.children or ():
            if child.type == "link_open":
                child.attrSet("rel", "noopener noreferrer nofollow")
    return str(md.renderer.render(tokens, md.options, {}))


@lru_cache(maxsize=8)
def render_thread(text: str) -> str:
    """A thread file's body (front matter shown separately, codev markers dropped). The
    last few are kept: the page asks again on every change anywhere, and a thread file of
    MAX_SOURCE takes a second or more to render."""
    return render(_MARKER.sub("", strip_front_matter(text)))
