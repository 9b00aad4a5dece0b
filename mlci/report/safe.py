"""Nothing from a pull request reaches the report comment unescaped.

Every name, value, path, branch, stage name and error text shown in the comment
comes from the pull request's author. Each goes through one of these functions,
picked by where it lands:

- `cell`: a GitHub-flavoured-markdown table cell;
- `inline`: running text outside tables (same escaping, a longer default cap);
- `code`: an inline code span that can hold any text, backticks included;
- `fenced`: a fenced code block whose fence no line inside can close;
- `details`: a collapsible `<details>` block; only its two tags are raw HTML.

What `cell` and `inline` guarantee (tests/unit/test_report_safe.py checks each point):

- No raw HTML: `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`, so no tag,
  no autolink and no `<!-- mlci-report:ID -->` marker can be written.
- Tables keep their shape: every `|` is written `\\|` and every backslash `\\\\`,
  so each pipe is preceded by an odd run of backslashes and cmark-gfm's cell
  scanner absorbs it; newlines, tabs and other control characters become spaces.
- Markdown cannot change the rendering: `` \\ ` * _ [ ] ( ) ! ~ | $ `` are
  backslash-escaped everywhere (`$` because GitHub renders `$...$` as math), and
  `# + - =` and an ordered-list `1.` when they open the text (headings, lists,
  setext underlines). `.` elsewhere is left alone, so `train.lr` reads `train.lr`.
- No pings, no cross-references: GitHub finds `@user`, `#123`, `GH-123`, bare
  `https://` and `www.` links in the *rendered* text, after entities are decoded,
  so a backslash or an entity for the `@` itself would still ping. A zero-width
  space, written as the entity `&#8203;`, goes right after every `@`, between
  `#`/`GH-` and a digit, and before `://` and the `.` of `www.`; the text reads
  the same ("@octocat") but no longer matches. Dependabot and Renovate neutralise
  mentions in their pull-request bodies the same way.
- Bidirectional-override characters (the "Trojan Source" trick) are removed.
- The markdown source is at most `max_len` characters, `…` marking a cut; the
  cut falls between escapes, never inside one. The cap counts source characters
  because that is what GitHub's 65,536-character comment limit counts.

`None` renders as `—`, booleans as `true`/`false` (as in params.yaml), ints and
floats as Python prints them; none of these needs escaping.
"""

from __future__ import annotations

import re

__all__ = ["ZWSP", "cell", "code", "details", "fenced", "inline", "one_line"]

ZWSP = "&#8203;"  # zero-width space as an entity: invisible, breaks @mentions and #refs

# U+061C, U+200E/F, U+202A-E, U+2066-9: they reorder how text is displayed
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 and C1 control characters, DEL, and the Unicode line/paragraph separators
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_ONE_LINE = str.maketrans({**dict.fromkeys(_CONTROLS, " "), **dict.fromkeys(map(ord, _BIDI))})
_KEEP_LINES = str.maketrans(
    {
        **dict.fromkeys((c for c in _CONTROLS if c not in (0x09, 0x0A)), ""),
        **dict.fromkeys(map(ord, _BIDI)),
    }
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")

_ENTITY = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HTML_ENTITY = {**_ENTITY, '"': "&quot;"}
_BACKSLASHED = frozenset("\\`*_[]()!~|$")
_LEADING = frozenset("#+-=")
_ORDERED = re.compile(r" *\d{1,9}\.")
# positions where a zero-width space goes: after @, inside #1 and GH-1, before :// and www's dot
_BREAKS = re.compile(r"(?<=@)|(?<=#)(?=\d)|(?<=\bgh-)(?=\d)|(?=://)|(?<=\bwww)(?=\.)", re.I)
_LANG = re.compile(r"[A-Za-z0-9_+.#-]{1,30}")


def _plain(value: object) -> str | None:
    """Text for values that need no escaping; None for everything else."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return int.__repr__(value)  # not str(): an IntEnum or subclass may print a name
        except ValueError:  # more digits than Python will print
            digits = int(value.bit_length() * 0.30103) + 1
            return f"{'-' if value < 0 else ''}{digits}-digit integer"
    if isinstance(value, float):
        return float.__repr__(value)  # numpy's float64 repr is `np.float64(...)`
    return None


def one_line(text: str) -> str:
    """`text` on one line: control characters and line breaks as spaces, bidi overrides gone."""
    return _SURROGATE.sub("\ufffd", text.translate(_ONE_LINE))


def _fit(tokens: list[str], max_len: int) -> str:
    """Join tokens, cutting between them (never inside an escape) to at most max_len."""
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    if sum(map(len, tokens)) <= max_len:
        return "".join(tokens)
    out: list[str] = []
    used = 0
    for token in tokens:
        if used + len(token) > max_len - 1:
            break
        out.append(token)
        used += len(token)
    return "".join(out) + "…"


def _head(text: str, max_len: int) -> str:
    """Enough of `text` to fill max_len (each character is at least one of output), plus context."""
    return text[: max_len + 8]  # the context decides breaks at the cut, e.g. before `://`


def _tokens(text: str, *, markdown: bool) -> list[str]:
    """One token per character of `text`: the character as markdown (or HTML) source."""
    text = one_line(text)
    breaks = {m.start() for m in _BREAKS.finditer(text)}
    entities = _ENTITY if markdown else _HTML_ENTITY
    lead = len(text) - len(text.lstrip(" "))
    ordered = _ORDERED.match(text) if markdown else None
    dot = ordered.end() - 1 if ordered else -1
    tokens = []
    for i, ch in enumerate(text):
        if ch in entities:
            token = entities[ch]
        elif markdown and (ch in _BACKSLASHED or i == dot or (i == lead and ch in _LEADING)):
            token = "\\" + ch
        else:
            token = ch
        tokens.append(ZWSP + token if i in breaks else token)
    return tokens


def cell(value: object, *, max_len: int = 200) -> str:
    """`value` as the text of a GFM table cell: one line, no HTML, no pings, `|` escaped."""
    plain = _plain(value)
    if plain is not None:
        return _fit(list(plain), max_len)
    return _fit(_tokens(_head(str(value), max_len), markdown=True), max_len)


def inline(value: object, *, max_len: int = 300) -> str:
    """`value` for running markdown text: the escaping of `cell` (a pipe is harmless)."""
    return cell(value, max_len=max_len)


def _html_text(value: object, *, max_len: int = 200) -> str:
    """`value` as text inside our own HTML tags, where markdown is not parsed."""
    plain = _plain(value)
    if plain is not None:
        return _fit(list(plain), max_len)
    return _fit(_tokens(_head(str(value), max_len), markdown=False), max_len)


def _backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall("`+", text)), default=0)


def code(value: object, *, table: bool = False, max_len: int | None = None) -> str:
    """An inline code span holding `value` verbatim, on one line.

    The span's backtick fence is one longer than the longest backtick run inside,
    and a space pads each side when the text starts or ends with a backtick (or
    with spaces on both ends, which CommonMark would strip); the renderer takes
    one padding space off each side. Line breaks and control characters become
    spaces, bidi overrides are dropped, and `<!` becomes `<` U+200B `!` so the raw
    comment cannot contain a fake `<!-- mlci-report:ID -->` marker (the span
    itself renders `<` as text). With `table=True`, `|` is written `\\|`, which
    cmark-gfm turns back into `|` inside a table cell, code spans included (a
    backslash before a `|` gets U+200B after it, so it cannot escape that escape);
    outside a table the backslash would show, so keep the default there.
    """
    plain = _plain(value)
    text = one_line(plain if plain is not None else str(value)).replace("<!", "<\u200b!")
    if max_len is not None and len(text) > max_len:
        text = _fit(list(text), max_len)
    if table:
        # a backslash right before the escape would escape the backslash instead, and the
        # table would split the cell there: U+200B keeps them apart
        text = text.replace("\\|", "\\\u200b|").replace("|", "\\|")
    if not text:
        return "` `"
    fence = "`" * (_backtick_run(text) + 1)
    pad = text.strip(" ") != "" and (
        text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ")
    )
    space = " " if pad else ""
    return f"{fence}{space}{text}{space}{fence}"


def fenced(text: str, lang: str = "") -> str:
    """A fenced code block showing `text`; its fence is longer than any backtick run inside.

    Line endings become `\\n`; ANSI colour sequences, control characters (tabs
    and newlines kept) and bidi overrides are removed; `<!` becomes `<` U+200B `!`
    (see `code`). `lang` is kept only when it looks like a language name.
    """
    body = _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    body = _SURROGATE.sub("\ufffd", body.translate(_KEEP_LINES)).replace("<!", "<\u200b!")
    body = body.rstrip("\n")
    fence = "`" * max(3, _backtick_run(body) + 1)
    info = lang if _LANG.fullmatch(lang) else ""
    return f"{fence}{info}\n{body}\n{fence}"


def details(summary: str, body: str) -> str:
    """A collapsed `<details>` block: `summary` escaped, `body` kept as (trusted) markdown.

    `body` must already be safe markdown built from this module's functions. The
    `<details><summary>` line opens an HTML block, where GitHub does not parse
    markdown, so `summary` is escaped for HTML (entities, the zero-width space of
    `cell`) rather than with backslashes, which would show. The blank lines end
    the HTML block so `body` renders as markdown.
    """
    return f"<details><summary>{_html_text(summary)}</summary>\n\n{body}\n\n</details>"
