"""Nothing a pull request writes reaches the report comment unescaped."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlci.report.safe import ZWSP, cell, code, details, fenced, inline

# characters that mean something to markdown, HTML, GitHub or a table, plus any unicode
HOSTILE = [
    *"|\\`*_[]()!~$#<>&@-+=:/.\n\r\t \u202e\u2028\x00\x1b",
    "<!--",
    "-->",
    "```",
    "GH-",
    "www.",
    "https://",
    "<script>",
    "@octocat",
    "#12",
]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.characters()), max_size=80).map(
    "".join
)
any_text = st.one_of(st.text(), hostile_text)

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def unescaped_pipes(text: str) -> int:
    """Pipes a GFM table would split on: those after an even run of backslashes."""
    count = 0
    for match in re.finditer(r"\\*\|", text):
        if (len(match.group()) - 1) % 2 == 0:
            count += 1
    return count


def rendered(text: str) -> str:
    """The zero-width-space entity as the character GitHub's filters see."""
    return text.replace(ZWSP, "\u200b")


def one_line(text: str) -> str:
    """The documented normalisation of `code`: controls and line breaks become spaces."""
    out = []
    for ch in text:
        if ch in BIDI:
            continue
        if unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029":
            out.append(" ")
        elif unicodedata.category(ch) == "Cs":
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out).replace("<!", "<\u200b!")


def span_content(span: str) -> str:
    """Parse an inline code span: an opening run of N backticks closed by a run of exactly N."""
    opening = len(span) - len(span.lstrip("`"))
    closing = len(span) - len(span.rstrip("`"))
    assert opening == closing >= 1, span
    inner = span[opening:-closing]
    assert inner, span
    # no run of exactly N backticks inside, or the span would close early
    assert all(len(run) != opening for run in re.findall("`+", inner)), span
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
        inner = inner[1:-1]
    return inner


# --- examples --------------------------------------------------------------------------------


def test_plain_identifiers_and_values_stay_readable() -> None:
    assert cell("train.lr") == "train.lr"
    assert cell("accuracy") == "accuracy"
    assert cell(None) == "—"
    assert cell(True) == "true"
    assert cell(False) == "false"
    assert cell(3) == "3"
    assert cell(0.25) == "0.25"
    assert cell(-1.5) == "-1.5"
    assert cell(float("nan")) == "nan"


def test_pipes_keep_the_table_shape() -> None:
    hostile = "a | b \\| c \\\\| d |"
    row = f"| {cell(hostile)} | {cell(0.5)} | {cell('x|y')} |"
    assert unescaped_pipes(row) == 4  # three columns: four delimiters
    assert cell("a|b") == "a\\|b"


def test_newlines_and_tabs_become_spaces() -> None:
    assert cell("a\nb\r\nc\td") == "a b  c d"
    assert "\n" not in inline("line one\nline two")


def test_html_never_survives() -> None:
    for text in [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<a href='javascript:x'>x</a>",
        "<details><summary>fake</summary>",
    ]:
        for out in (cell(text), inline(text), details(text, "body")):
            assert "<script" not in out
            assert "<img" not in out
            assert "<a " not in out
        assert "<" not in cell(text)
    assert cell("a & b") == "a &amp; b"
    assert cell("&lt;script&gt;") == "&amp;lt;script&amp;gt;"


def test_fake_marker_is_neutralised_everywhere() -> None:
    fake = "<!-- mlci-report:x -->"
    for out in (cell(fake), inline(fake), code(fake), fenced(fake), details(fake, "")):
        assert "<!--" not in out
        assert "mlci-report:x" in out  # still readable


def test_mentions_do_not_ping() -> None:
    out = cell("@octocat and @org/team")
    assert out == f"@{ZWSP}octocat and @{ZWSP}org/team"
    assert not re.search(r"@\w", out)
    assert not re.search(r"@\w", details("thanks @octocat", ""))


def test_cross_references_and_links_do_not_autolink() -> None:
    out = cell("fixes #123, GH-45 and owner/repo#6; see https://evil.example and www.evil.example")
    assert not re.search(r"#\d", rendered(out))
    assert not re.search(r"GH-\d", out, re.I)
    assert "://" not in out.replace(f"{ZWSP}://", "")
    assert "www." not in out
    assert cell("C# code") == "C# code"


def test_markdown_controls_are_escaped() -> None:
    assert cell("**bold** _it_ ~del~") == r"\*\*bold\*\* \_it\_ \~del\~"
    assert cell("[click](http://x)") == r"\[click\]\(http&#8203;://x\)"
    assert cell("![img](x)") == r"\!\[img\]\(x\)"
    assert cell("`tick`") == r"\`tick\`"
    assert cell("$x^2$") == r"\$x^2\$"
    assert cell("back\\slash") == r"back\\slash"
    assert inline("# heading") == r"\# heading"
    assert inline("  - item") == r"  \- item"
    assert inline("+ item") == r"\+ item"
    assert inline("=====") == r"\====="
    assert inline("> quote") == "&gt; quote"
    assert inline("1. first") == r"1\. first"
    assert inline("a-b+c=d") == "a-b+c=d"  # only leading markers matter


def test_bidi_overrides_are_removed() -> None:
    assert cell("safe\u202egnp.exe") == "safegnp.exe"


def test_length_is_capped_between_escapes() -> None:
    out = cell("x" * 500)
    assert len(out) == 200
    assert out.endswith("…")
    out = cell("<" * 100, max_len=13)
    assert out == "&lt;&lt;&lt;…"
    assert len(cell("a" * 1000)) <= 200
    assert len(inline("a" * 1000)) <= 300
    with pytest.raises(ValueError):
        cell("x", max_len=0)


def test_code_spans_hold_backticks() -> None:
    assert code("train.lr") == "`train.lr`"
    assert code("a `b` c") == "``a `b` c``"
    assert code("`x`") == "`` `x` ``"
    assert code("``") == "``` `` ```"
    assert span_content(code("a ``` b")) == "a ``` b"
    assert code(" padded ") == "`  padded  `"
    assert code("") == "` `"
    assert code(None) == "`—`"
    assert code("a\nb") == "`a b`"


def test_code_in_a_table_escapes_pipes() -> None:
    assert code("a|b") == "`a|b`"
    assert code("a|b", table=True) == "`a\\|b`"
    row = f"| {code('x | y', table=True)} | z |"
    assert unescaped_pipes(row) == 3


def test_code_max_len() -> None:
    out = code("y" * 50, max_len=10)
    assert out == "`" + "y" * 9 + "…`"


def test_fenced_fence_outruns_the_text() -> None:
    out = fenced("a\n````\nb", "py")
    assert out.splitlines()[0] == "`````py"
    assert out.splitlines()[-1] == "`````"
    assert fenced("plain") == "```\nplain\n```"
    assert fenced("x", "py`evil") == "```\nx\n```"  # a backtick in the info string is dropped
    assert fenced("\x1b[31mred\x1b[0m\r\nnext") == "```\nred\nnext\n```"


def test_details_wraps_markdown_body() -> None:
    out = details("train_loss <b>", "| a |\n|---|")
    assert out == ("<details><summary>train_loss &lt;b&gt;</summary>\n\n| a |\n|---|\n\n</details>")
    assert "\n" not in out.split("</summary>")[0]
    assert details('say "hi"\n', "").startswith("<details><summary>say &quot;hi&quot; </summary>")


# --- properties ------------------------------------------------------------------------------


def check_escaped(out: str, limit: int) -> None:
    assert "\n" not in out
    assert "\r" not in out
    assert "<" not in out
    assert ">" not in out
    assert not re.search(r"@\w", out)
    assert not re.search(r"#\d", rendered(out))
    assert len(out) <= limit
    for match in re.finditer(r"\\*\|", out):
        assert (len(match.group()) - 1) % 2 == 1, out  # the backslash before it is not escaped
    assert not any(ch in out for ch in BIDI)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_cell_property(text: str) -> None:
    check_escaped(cell(text), 200)


@settings(max_examples=300, deadline=None)
@given(any_text, st.integers(min_value=1, max_value=60))
def test_inline_property(text: str, limit: int) -> None:
    check_escaped(inline(text, max_len=limit), limit)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_code_property(text: str) -> None:
    span = code(text)
    assert "\n" not in span
    assert "\r" not in span
    assert "<!" not in span
    expected = one_line(text)
    assert span_content(span) == (expected or " ")


def test_code_in_table_keeps_a_backslash_from_escaping_the_pipe_escape() -> None:
    # found by the property below: `\|` was written `\\|`, an escaped backslash and a bare
    # pipe, where a GFM table splits the cell
    span = code("a\\|b", table=True)
    assert span == "`a\\\u200b\\|b`"
    assert unescaped_pipes(span) == 0


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_code_in_table_property(text: str) -> None:
    span = code(text, table=True)
    assert unescaped_pipes(span) == 0
    # cmark-gfm removes the backslash before each pipe, then parses the span; a backslash
    # the text has before a pipe is kept apart from it by U+200B
    shown = one_line(text).replace("\\|", "\\\u200b|")
    assert span_content(span.replace("\\|", "|")) == (shown or " ")


@settings(max_examples=300, deadline=None)
@given(any_text, st.text(max_size=10))
def test_fenced_property(text: str, lang: str) -> None:
    out = fenced(text, lang)
    lines = out.split("\n")
    fence = len(lines[-1])
    assert lines[-1] == "`" * fence
    assert lines[0].startswith(lines[-1])
    assert "`" not in lines[0][fence:]
    assert fence >= 3
    for line in lines[1:-1]:
        run = len(line.lstrip(" ")) - len(line.lstrip(" ").lstrip("`"))
        assert run < fence  # no line inside can close the block
        assert "\r" not in line
    assert "<!" not in out


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_details_summary_property(text: str) -> None:
    out = details(text, "BODY")
    head, _, rest = out.partition("</summary>")
    summary = head.removeprefix("<details><summary>")
    assert "<" not in summary
    assert "\n" not in summary
    assert not re.search(r"@\w", summary)
    assert rest == "\n\nBODY\n\n</details>"
