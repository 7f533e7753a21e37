"""The importer on the five public FAQs in ../shared/faqs and on the Docker FAQ's own source.

Counts were taken by reading each document: antd-zh 41 and antd-en 39 `##`
questions; curl 93 `##` questions under `#` sections (sub-headings such as
`### libcurl` belong to their answer); youtube-dl 28 `###` questions under
`# FAQ` plus the `#` question that closes the section; docker-practice 26 `###`
questions below a title and intro, and 9 rows of the error table on its second page.
"""
import re
import shutil
import time
import unicodedata
from dataclasses import asdict

import pytest

from bot.knowledge.importer import import_markdown, parse_files
from bot.knowledge.pack import load_pack
from tests.support import REPO

SHARED = REPO.parent / "shared"
FAQS = SHARED / "faqs"
pytestmark = pytest.mark.skipif(
    not FAQS.is_dir(), reason=f"the public FAQs are not at {FAQS} (clone the repo beside shared/ to run these)"
)

CASES = {
    "antd-zh": (["faq.zh-CN.md"], 41, 0),
    "antd-en": (["faq.en-US.md"], 39, 0),
    "curl": (["FAQ.md"], 93, 0),
    "youtube-dl": (["README.md"], 29, 0),
    "docker-practice": (["README.md", "errors.md"], 35, 9),
}


def _key(title: str) -> str:
    text = re.sub(r"[`*\\]", "", unicodedata.normalize("NFKC", title))
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_faqs_parse_to_the_questions_they_hold(name):
    files, count, rows = CASES[name]
    docs = parse_files([FAQS / name / f for f in files])
    entries = [e for d in docs for e in d.entries]
    assert len(entries) == count
    assert sum(d.table_rows for d in docs) == rows
    assert [d.warnings for d in docs] == [()] * len(docs)
    assert all(e.answer for e in entries), [e.question for e in entries if not e.answer]
    assert [e.n for e in entries] == list(range(1, count + 1))


@pytest.mark.parametrize("name", ["antd-zh", "antd-en", "youtube-dl"])
def test_every_labelled_question_is_an_imported_entry(name):
    """dev.tsv names entries by their heading text; the first title of each row is a FAQ question."""
    (doc,) = parse_files([FAQS / name / CASES[name][0][0]])
    questions = {_key(e.question) for e in doc.entries}
    labels = [line.split("\t")[1] for line in (FAQS / name / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    firsts = {_key(label.split(" || ")[0]) for label in labels if label.strip() != "-"}
    assert firsts and firsts <= questions, firsts - questions


def test_youtube_dl_faq_is_its_readme_section():
    (doc,) = parse_files([FAQS / "youtube-dl" / "README.md"])
    assert doc.entries[0].question == "How do I update youtube-dl?"
    assert doc.entries[-1].question == "Why do I need to go through that much red tape when filing bugs?"
    assert not any(e.question.startswith("#") for e in doc.entries)


def test_docker_practice_escapes_and_error_rows():
    docs = parse_files([FAQS / "docker-practice" / "README.md", FAQS / "docker-practice" / "errors.md"])
    questions = [e.question for d in docs for e in d.entries]
    assert "碰到网络问题，无法 pull 镜像，命令行指定 http_proxy 无效？" in questions
    assert "Bind for 0.0.0.0:8080 failed: port is already allocated" in questions
    assert not any("附录" in q for q in questions)  # the title is not an entry


DOCKER_FAQ = SHARED / "docker-faq"
PAGE = "https://blog.lab99.org/post/docker-2016-07-14-faq.html"


@pytest.mark.skipif(not DOCKER_FAQ.is_dir(), reason=f"the Docker FAQ source is not at {DOCKER_FAQ}")
def test_the_readme_reimport_command_for_the_docker_faq_gives_a_valid_pack(tmp_path):
    """`faqbot knowledge import ../shared/docker-faq/docker-faq.md --into ... --base-url ... --index ...`"""
    into = tmp_path / "docker-faq"
    report = import_markdown(DOCKER_FAQ / "docker-faq.md", into, base_url=PAGE, index=DOCKER_FAQ / "questions.tsv")
    assert report.written == 100 and report.warnings == ()
    pack = load_pack(into)
    shipped = load_pack(REPO / "knowledge" / "docker-faq")
    assert [(e.n, e.url) for e in pack.entries] == [(e.n, e.url) for e in shipped.entries]
    by_n = {e.n: e for e in pack.entries}
    assert "docker stats $(docker ps --format='{{.Names}}')" in by_n[60].answer  # a code-only body


@pytest.mark.skipif(not DOCKER_FAQ.is_dir(), reason=f"the Docker FAQ source is not at {DOCKER_FAQ}")
def test_reimport_over_the_shipped_pack_keeps_every_hand_written_field(tmp_path):
    into = tmp_path / "docker-faq"
    shutil.copytree(REPO / "knowledge" / "docker-faq", into)
    before = load_pack(into)
    report = import_markdown(DOCKER_FAQ / "docker-faq.md", into, base_url=PAGE, index=DOCKER_FAQ / "questions.tsv")
    assert report.new == 0 and report.orphans == ()
    after = load_pack(into)
    assert [asdict(e) for e in after.entries] == [asdict(e) for e in before.entries]
