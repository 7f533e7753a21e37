"""Markdown import: the shapes FAQs are written in become entries; re-import
refreshes what the importer wrote and keeps what a person edited."""

from dataclasses import asdict

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.knowledge.importer import import_markdown, parse_markdown
from bot.knowledge.markdown_faq import parse_document
from bot.knowledge.pack import check_pack, load_pack
from tests.support import TESTS

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


# ---------------------------------------------------------------- the shapes people write

FIXTURES = TESTS / "fixtures" / "import"


def _doc(name: str, page: str = ""):
    return parse_document((FIXTURES / name).read_text(encoding="utf-8"), page)


def test_title_and_intro_above_the_questions_do_not_make_one_entry():
    doc = _doc("title_intro.md")
    assert [e.question for e in doc.entries] == [
        "如何批量清理临时镜像文件？",
        "碰到网络问题，命令行指定 http_proxy 无效？",  # the backslash escape is gone
        "如何获取某个容器的 PID 信息？",
        "如何查看容器日志？",
    ]
    # the document title names no section; the ## headings do
    assert [e.section for e in doc.entries] == ["镜像相关", "镜像相关", "容器相关", "容器相关"]
    assert doc.warnings == ()


def test_short_answers_keep_inline_code_and_code_only_answers_get_their_command():
    entries = _doc("title_intro.md").entries
    assert entries[0].answer == "可以使用 `docker image prune` 命令。"  # '答：' dropped, backticks kept
    # text that introduces a code block is completed by the block's first command
    assert entries[2].answer == "可以使用 `docker inspect --format '{{ .State.Pid }}' <CONTAINER>`"
    # a code-only answer: the first command, comment skipped, prompt removed
    assert entries[3].answer == "`docker logs -f <CONTAINER>`"


COLON_FAQ = """# Tool FAQ

## How do I follow redirects?

The tool does not follow redirects by default. The `Location:` header is only read when you
use the `-L`/`--location` option, which also re-sends the request to the new place. As in:

    tool -L https://example.com

## Is my daemon exposed?

Nobody should reach the daemon from outside. Check how it was started: `ps -ef | grep toold`. If you see this:

```console
$ ps -ef | grep toold
root  1  toold -H tcp://0.0.0.0:2375
```

then it listens on every interface.

## What are the limits?

See the table below for the limits of each plan:

| plan | limit |
| --- | --- |
| free | 10 |

## How do I label a daemon?

Each host can label its daemon when it starts, for example:

```bash
toold \\
    --label env="production" \\
    --label disk="ssd"
```

## How do I allow deleting images?

By default the registry refuses to delete images; it has to be enabled in `config.yml`:

```yaml
delete:
    enabled: true
```

Then ask the API for the digest of the tag.
"""


def test_a_short_answer_never_stops_on_a_colon():
    """A long first paragraph ending "As in:" is completed by the command it introduces;
    a colon before a command's output, a table or a configuration file ends the answer at
    the sentence before it (the reply's link leads to the rest)."""
    redirects, exposed, limits, labels, deleting = parse_document(COLON_FAQ).entries
    assert redirects.answer.endswith("As in: `tool -L https://example.com`")
    assert exposed.answer == "Nobody should reach the daemon from outside. Check how it was started: `ps -ef | grep toold`."
    assert limits.answer == "See the table below for the limits of each plan…"
    # a command continued over lines is one command
    assert labels.answer.endswith('for example: `toold --label env="production" --label disk="ssd"`')
    # a configuration file's first line ("delete:") is not what the colon promised
    assert deleting.answer == "By default the registry refuses to delete images; it has to be enabled in `config.yml`…"


def test_links_lose_trailing_punctuation_and_relative_links_need_a_page():
    entries = _doc("title_intro.md", page="https://faq.test/appendix/README.html").entries
    assert entries[1].links == ("https://docs.docker.com/engine/daemon/proxy/",)
    readme = _doc("readme_faq.md").entries
    assert readme[2].links == ("https://tool.test/update",)
    assert readme[3].links == ("https://tool.test/logs",)
    # without a page URL a relative link cannot be resolved and is left out
    assert all(not url.startswith(("#", "errors.md")) for e in entries for url in e.links)


def test_a_table_of_error_messages_gives_one_entry_per_row():
    doc = _doc("errors.md")
    assert doc.table_rows == 3
    assert [e.question for e in doc.entries] == [
        "Bind for 0.0.0.0:8080 failed: port is already allocated",
        'exec user process caused "exec format error"',
        "容器内无法访问外网",
    ]
    first = doc.entries[0]
    assert first.section == "常见错误处理"
    assert first.answer.splitlines() == ["可能原因：端口被占用", "解决方案：检查占用端口的进程 (`lsof -i:8080`)，或换个端口映射 (`-p 8081:80`)"]
    assert "`docker buildx`" in doc.entries[1].answer and "或拉取对应架构的镜像" in doc.entries[1].answer
    assert doc.entries[2].links == ("https://docs.docker.com/reference/cli/dockerd/",)


def test_a_faq_section_of_a_readme_is_found_at_its_own_heading_level():
    doc = _doc("readme_faq.md")
    assert [e.question for e in doc.entries] == [
        "How do I update tool?",
        "Video URL contains an ampersand and I get strange output",
        "ERROR: unable to download video",
        "Where are the logs?",
        # the FAQ's last question, written one level up right after the section
        "Why do I need to go through that much red tape when filing bugs?",
    ]
    # one-line ```spans``` are inline code, not fences: the headings after them survive
    assert "```tool 'https://v.test/watch?t=4&v=x'```" in doc.entries[1].body
    assert doc.entries[1].answer.startswith("Quote the URL: `tool 'https://v.test/watch?t=4&v=x'`")
    # '# ...' lines in code blocks are not questions, the developer section is not the FAQ
    assert not any("comment" in e.question or "new site" in e.question for e in doc.entries)


def test_fences_open_only_at_the_start_of_a_line():
    text = (
        "## Why does my build fail?\n\nRun ```make clean``` first, then ``` make ```.\n\n"
        "## How do I install?\n\n```\n## not a question\n```\n\n## Where is the cache?\n\nIn `~/.cache`.\n"
    )
    entries = parse_document(text).entries
    assert [e.question for e in entries] == ["Why does my build fail?", "How do I install?", "Where is the cache?"]
    assert "## not a question" in entries[1].body


def test_statements_under_a_lone_title_are_entries():
    text = "# Team FAQ\n\nRead this first.\n\n## Install fails on Windows\n\nUse WSL.\n\n## Proxy not working\n\nSet `HTTPS_PROXY`.\n"
    entries = parse_document(text).entries
    assert [(e.question, e.answer) for e in entries] == [
        ("Install fails on Windows", "Use WSL."),
        ("Proxy not working", "Set `HTTPS_PROXY`."),
    ]


def test_suspicious_documents_warn():
    # questions one level below a question: one entry from five question-shaped headings
    nested = "# How do I use it?\n\nLike this.\n\n" + "".join(
        f"## How do I {verb}?\n\nAnswer about {verb}.\n\n" for verb in ("install", "run", "stop", "update")
    )
    warnings = parse_document(nested, name="nested.md").warnings
    assert any("1 entries from 5 question-shaped headings" in w for w in warnings)
    unclosed = "## How do I start?\n\nRun:\n\n```sh\nstart\n\n## How do I stop?\n\nPress q.\n"
    warnings = parse_document(unclosed, name="unclosed.md").warnings
    assert any("unclosed.md:5" in w and "never closes" in w for w in warnings)
    giant = "# Notes\n\n" + "\n\n".join(f"Item {i} matters because of {i}. " * 5 for i in range(30))
    assert any("one entry" in w for w in parse_document(giant, name="giant.md").warnings)


# ---------------------------------------------------------------- several files, urls, re-import


def test_several_files_make_one_pack_numbered_in_order(tmp_path):
    into = tmp_path / "pack"
    report = import_markdown(
        [FIXTURES / "title_intro.md", FIXTURES / "errors.md"], into, base_url="https://faq.test/appendix/"
    )
    assert report.written == 7 and report.table_rows == 3
    pack = load_pack(into)
    assert [e.n for e in pack.entries] == list(range(1, 8))
    assert pack.entries[0].url == "https://faq.test/appendix/title_intro.md#如何批量清理临时镜像文件"
    assert pack.entries[4].url == "https://faq.test/appendix/errors.md#常见错误处理"
    assert pack.entries[4].id.startswith("bind-for-0-0-0-0")


def test_without_a_base_url_entries_have_no_bare_anchor_links(tmp_path):
    report = import_markdown([FIXTURES / "title_intro.md"], tmp_path / "pack")
    assert any("no --base-url" in note for note in report.notes)
    assert all(e.url == "" for e in load_pack(tmp_path / "pack").entries)


def _edit(path, **fields):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_reimport_refreshes_what_the_importer_wrote_and_keeps_what_a_person_edited(tmp_path):
    source = tmp_path / "faq.md"
    text = (FIXTURES / "title_intro.md").read_text(encoding="utf-8")
    source.write_text(text, encoding="utf-8")
    into = tmp_path / "pack"
    import_markdown(source, into, base_url="https://faq.test/faq.html")
    first, second = into / "001.yaml", into / "002.yaml"
    assert yaml.safe_load(first.read_text(encoding="utf-8"))["generated"]["answer"]
    # a person rewrites entry 2's answer and adds aliases and an English title to entry 1
    _edit(second, answer="Set the proxy in daemon.json, not in your shell.")
    _edit(first, aliases=["清理 none 镜像"], question_en="How do I prune dangling images?")
    # the source changes under both
    source.write_text(
        text.replace("`docker image prune` 命令", "`docker image prune -a` 命令").replace("`proxies` 字段", "`proxies` 键"),
        encoding="utf-8",
    )
    report = import_markdown(source, into, base_url="https://faq.test/faq.html")
    assert report.new == 0 and report.edited_fields == 1
    pack = load_pack(into)
    one, two = pack.entries[0], pack.entries[1]
    assert one.answer == "可以使用 `docker image prune -a` 命令。"  # untouched: refreshed
    assert one.aliases == ("清理 none 镜像",) and one.question_en == "How do I prune dangling images?"
    assert two.answer == "Set the proxy in daemon.json, not in your shell."  # edited: kept
    assert "`proxies` 键" in two.body  # the body follows the source
    # the edit survives a second re-import too
    import_markdown(source, into, base_url="https://faq.test/faq.html")
    assert load_pack(into).entries[1].answer == "Set the proxy in daemon.json, not in your shell."


def test_reimport_finds_an_entry_whose_question_a_person_retitled(tmp_path):
    into = tmp_path / "pack"
    import_markdown([FIXTURES / "title_intro.md"], into)  # no url to match by
    _edit(into / "003.yaml", question="怎么拿到容器的 PID？", id="container-pid")
    report = import_markdown([FIXTURES / "title_intro.md"], into)
    assert report.new == 0 and report.orphans == ()
    entry = load_pack(into).entries[2]
    assert (entry.id, entry.question) == ("container-pid", "怎么拿到容器的 PID？")


def test_cli_imports_several_files_and_validate_prints_warnings(tmp_path, capsys):
    from bot.cli import main

    into = tmp_path / "dp"
    code = main(["knowledge", "import", str(FIXTURES / "title_intro.md"), str(FIXTURES / "errors.md"), "--into", str(into)])
    out = capsys.readouterr().out
    assert code == 0 and "imported 7 entries from 2 file(s)" in out and "note: no --base-url" in out
    assert main(["knowledge", "validate", str(into)]) == 0
    assert f"{into}: ok, 7 entries" in capsys.readouterr().out
    # a markdown file: a dry run with the document's warnings, which do not fail it
    nested = tmp_path / "nested.md"
    nested.write_text("# How do I use it?\n\nLike this.\n\n" + "".join(f"## How do I {v}?\n\nSo.\n\n" for v in "abcd"), encoding="utf-8")
    assert main(["knowledge", "validate", str(nested)]) == 0
    out = capsys.readouterr().out
    assert "would import 1 entries" in out and "question-shaped headings" in out and "warning:" in out
    # a pack imported from that document warns too: questions sit inside its one body
    main(["knowledge", "import", str(nested), "--into", str(tmp_path / "nested")])
    capsys.readouterr()
    assert main(["knowledge", "validate", str(tmp_path / "nested")]) == 0
    assert "question-shaped headings sit inside entry bodies" in capsys.readouterr().out


def test_new_entries_never_take_an_id_already_in_the_folder(tmp_path):
    source = tmp_path / "faq.md"
    source.write_text("## How do I start?\n\nRun it.\n", encoding="utf-8")
    into = tmp_path / "pack"
    import_markdown(source, into)
    _edit(into / "001.yaml", id="how-do-i-stop")  # a person renames the id
    # the source gains the question whose default id is now taken
    source.write_text("## How do I stop?\n\nPress q.\n\n## How do I start?\n\nRun it.\n", encoding="utf-8")
    report = import_markdown(source, into)
    assert report.new == 1
    pack = load_pack(into)  # no duplicate id
    assert sorted(e.id for e in pack.entries) == ["how-do-i-stop", "how-do-i-stop-1"]
    assert {e.id: e.question for e in pack.entries}["how-do-i-stop"] == "How do I start?"


def test_odd_documents_still_give_a_valid_pack(tmp_path):
    text = (
        "## \n\nA heading without words.\n\n"
        "## Where is the diagram?\n\n![diagram](d.png)\n\n"
        "## Why is the sky blue?\n\n<p>Scattering.</p>\n"
    )
    source = tmp_path / "odd.md"
    source.write_text(text, encoding="utf-8")
    report = import_markdown(source, tmp_path / "pack")
    pack = load_pack(tmp_path / "pack")
    assert [e.question for e in pack.entries] == ["Where is the diagram?", "Why is the sky blue?"]
    assert pack.entries[1].answer == "Scattering."
    assert any("no text to answer with" in w for w in report.warnings)


def test_a_malformed_generated_record_is_a_validation_problem(tmp_path):
    source = tmp_path / "faq.md"
    source.write_text("## How do I start?\n\nRun it.\n", encoding="utf-8")
    import_markdown(source, tmp_path / "pack")
    _edit(tmp_path / "pack" / "001.yaml", generated=["not", "a", "mapping"])
    pack, problems = check_pack(tmp_path / "pack")
    assert pack is None and "generated" in str(problems[0]) and ":" in str(problems[0])


FRAGMENTS = st.sampled_from(
    [
        "# Title\n", "## How do I x?\n", "### Why y?\n", "#### sub\n", "# FAQ\n", "## 如何安装？\n", "##\n",
        "Some text with `code` and https://a.test/x.\n", "答：可以使用\n", "```\n", "```sh\n$ run\n```\n",
        "~~~\n# comment\n~~~\n", "| 错误 | 解决 |\n|---|---|\n| `E1` | fix |\n", "| a |\n|---|\n| b |\n",
        "<!-- toc -->\n", "<div>x</div>\n", "---\n", "- item `a`\n- item b\n", "> quote\n", "![img](i.png)\n",
        "\n", "text\\_with\\_escapes\n", "    indented code\n",
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(FRAGMENTS, max_size=25))
def test_any_document_imports_to_a_valid_pack_or_a_clear_error(tmp_path_factory, parts):
    folder = tmp_path_factory.mktemp("fuzz")
    source = folder / "doc.md"
    source.write_text("\n".join(parts), encoding="utf-8")
    try:
        report = import_markdown(source, folder / "pack")
    except ValueError as exc:
        assert "nothing to import" in str(exc)
        return
    pack, problems = check_pack(folder / "pack")
    assert problems == [] and len(pack.entries) == report.written
    second = import_markdown(source, folder / "pack")  # a second import over the first changes nothing
    assert (second.new, second.edited_fields, second.orphans) == (0, 0, ())
    again, _ = check_pack(folder / "pack")
    assert [asdict(e) for e in again.entries] == [asdict(e) for e in pack.entries]


def test_questions_written_as_bold_or_q_paragraphs():
    text = (
        "# Team FAQ\n\nRead this first.\n\n**How do I install it?**\n\nRun `pip install it`.\n\n"
        "**Why is it slow?** Because of the proxy.\n\nMore at https://p.test/proxy.\n\n"
        "Q: Where are the logs?\nA: In `/var/log`.\n\n## Notes\n\n**Only emphasis.**\n\nNot a question list.\n"
    )
    entries = parse_document(text).entries
    assert [(e.question, e.answer) for e in entries[:3]] == [
        ("How do I install it?", "Run `pip install it`."),
        ("Why is it slow?", "Because of the proxy. More at https://p.test/proxy."),
        ("Where are the logs?", "In `/var/log`."),
    ]
    assert entries[1].links == ("https://p.test/proxy",) and entries[0].section == "Team FAQ"
    # one bold line is emphasis: the section stays one entry
    assert [e.question for e in entries[3:]] == ["Notes"]


def test_validate_warns_on_a_pack_whose_questions_were_swallowed(tmp_path, capsys):
    """The shape the line-regex importer made of youtube-dl: a fence taken to open
    mid-answer, later questions inside one body."""
    from bot.cli import main

    folder = tmp_path / "swallowed"
    folder.mkdir()
    body = "Run it:\n\n```\n" + "".join(f"### How do I {v}?\n\nLike so.\n\n" for v in ("stop", "pause", "resume"))
    (folder / "001.yaml").write_text(
        yaml.safe_dump({"id": "faq", "n": 1, "question": "FAQ", "answer": "Run it.", "body": body}), encoding="utf-8"
    )
    assert main(["knowledge", "validate", str(folder)]) == 0  # warnings never fail validation
    out = capsys.readouterr().out
    assert "ok, 1 entries" in out and "never closes" in out and "3 heading-like lines inside a code block" in out


def test_collapsible_details_questions_in_a_readme_faq_section():
    text = (
        "# Tool\n\nIntro.\n\n## FAQ\n\n<details>\n<summary>How do I install &amp; run it?</summary>\n\n"
        "Run `pip install tool`, then `tool`.\n\n</details>\n\n<details>\n<summary><b>Why is it slow?</b></summary>\n\n"
        "Because of the proxy: see https://p.test/x.\n\n</details>\n\n## License\n\nMIT.\n\n## Usage\n\nRun it.\n"
    )
    entries = parse_document(text).entries
    assert [(e.question, e.answer) for e in entries] == [
        ("How do I install & run it?", "Run `pip install tool`, then `tool`."),
        ("Why is it slow?", "Because of the proxy: see https://p.test/x."),
    ]
    assert "</details>" not in entries[0].body


def test_reimport_of_a_pack_from_before_digests_refreshes_only_the_old_importers_answers(tmp_path):
    from bot.knowledge.importer import legacy_auto_answer

    source = tmp_path / "faq.md"
    source.write_text("## How do I start?\n\nRun `start`.\n\n## How do I stop?\n\nPress `q`.\n", encoding="utf-8")
    into = tmp_path / "pack"
    import_markdown(source, into)
    for path in (into / "001.yaml", into / "002.yaml"):  # as the line-regex importer left them
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data.pop("generated")
        data["answer"] = legacy_auto_answer(data["body"])
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert yaml.safe_load((into / "001.yaml").read_text(encoding="utf-8"))["answer"] == "Run start."
    _edit(into / "002.yaml", answer="Press q, or Ctrl-C twice.")  # a person's answer
    source.write_text("## How do I start?\n\nRun `start --now`.\n\n## How do I stop?\n\nPress `Esc`.\n", encoding="utf-8")
    import_markdown(source, into)
    start, stop = load_pack(into).entries
    assert start.answer == "Run `start --now`."  # the old importer's answer: refreshed
    assert stop.answer == "Press q, or Ctrl-C twice." and "Esc" in stop.body  # a person's: kept
