"""Markdown import: headings become entries; re-import keeps hand-written fields."""

import yaml

from bot.importer import import_markdown, parse_markdown
from bot.pack import load_pack

FAQ = """---
title: Team FAQ
---

# 前言

Some words before the questions.

# Install `(2)`

## How do I install the `cli`?

Run `pip install cli`. See [the docs](https://docs.acme.dev/install) and <https://acme.dev/faq>.

```bash
# not a heading: a comment inside a code block
pip install cli
```

## Why is it **slow**?

### Behind a proxy

Set `HTTPS_PROXY`.

### Elsewhere

Use a [mirror](/mirrors.html).

# Usage

## Questions without a subsection

### Where are the logs?

In `/var/log/cli`.
"""


def test_headings_become_entries_with_sections_and_bodies(tmp_path):
    meta, entries = parse_markdown(FAQ, base_url="https://acme.dev/faq.html")
    assert meta["title"] == "Team FAQ"
    assert [e.question for e in entries] == ["How do I install the cli?", "Why is it slow?", "Where are the logs?"]
    assert [e.n for e in entries] == [1, 2, 3]
    assert entries[0].section == "Install" and entries[0].subsection == ""
    assert entries[2].section == "Usage" and entries[2].subsection == "Questions without a subsection"
    # sub-headings and code blocks stay in the body of their question
    assert "### Behind a proxy" in entries[1].body and "HTTPS_PROXY" in entries[1].body
    assert "# not a heading" in entries[0].body
    assert entries[0].links == ("https://docs.acme.dev/install", "https://acme.dev/faq")
    assert entries[1].links == ("https://acme.dev/mirrors.html",)
    assert entries[0].anchor == "how-do-i-install-the-cli"


def test_import_writes_a_valid_pack_and_reimport_keeps_hand_written_fields(tmp_path):
    source = tmp_path / "faq.md"
    source.write_text(FAQ, encoding="utf-8")
    pack_dir = tmp_path / "pack"
    report = import_markdown(source, pack_dir, base_url="https://acme.dev/faq.html")
    assert report.written == 3 and report.new == 3
    pack = load_pack(pack_dir)  # auto answers make it usable at once
    assert pack.entries[0].url == "https://acme.dev/faq.html#how-do-i-install-the-cli"
    assert pack.entries[0].answer.startswith("Run `pip install cli`")  # inline code keeps its backticks

    path = pack_dir / "001.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(
        id="install-cli", answer="`pip install cli`", answer_en="`pip install cli`",
        aliases=["怎么装 cli", "install cli"], keywords=["pip install cli"], links=["https://docs.acme.dev/install"],
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # the source changes: the body is refreshed, the hand-written fields survive
    source.write_text(FAQ.replace("Run `pip install cli`.", "Run `pipx install cli`."), encoding="utf-8")
    report = import_markdown(source, pack_dir, base_url="https://acme.dev/faq.html")
    assert report.new == 0 and report.kept_hand_written >= 1
    entry = load_pack(pack_dir).entries[0]
    assert entry.id == "install-cli" and entry.answer == "`pip install cli`"
    assert entry.aliases == ("怎么装 cli", "install cli") and entry.keywords == ("pip install cli",)
    assert entry.links == ("https://docs.acme.dev/install",)
    assert "pipx install cli" in entry.body


def test_index_file_gives_anchors_and_verbatim_titles(tmp_path):
    source = tmp_path / "faq.md"
    source.write_text(FAQ, encoding="utf-8")
    index = tmp_path / "index.tsv"
    index.write_text("n\tanchor\tquestion\n2\twhy-slow\tWhy is it “slow”?\n", encoding="utf-8")
    import_markdown(source, tmp_path / "pack", base_url="https://acme.dev/faq.html", index=index)
    entry = load_pack(tmp_path / "pack").entries[1]
    assert entry.url.endswith("#why-slow") and entry.question == "Why is it “slow”?"


def test_nothing_to_import_is_an_error(tmp_path):
    source = tmp_path / "empty.md"
    source.write_text("just text, no headings\n", encoding="utf-8")
    try:
        import_markdown(source, tmp_path / "pack")
    except ValueError as exc:
        assert "nothing to import" in str(exc)
    else:
        raise AssertionError("an empty import must fail")
