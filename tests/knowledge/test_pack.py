"""Pack loading and every validation error, with file, line and entry id."""
from pathlib import Path

import pytest
import yaml

from bot.knowledge.pack import check_pack, load_pack
from bot.matching.types import PackError
from tests.support.packs import SAMPLE_ENTRIES


def _problems(folder: Path) -> list[str]:
    pack, problems = check_pack(folder)
    assert pack is None
    return [str(p) for p in problems]


def test_sample_pack_loads_in_order(sample_pack_dir):
    pack = load_pack(sample_pack_dir)
    assert [e.n for e in pack.entries] == sorted(e["n"] for e in SAMPLE_ENTRIES)
    assert pack.info.title == "Sample FAQ"
    slow = pack.entries[0]
    assert slow.id == "slow-pull" and slow.answer_en.startswith("Configure")
    assert "registry-mirror" in slow.keywords and slow.source.endswith("001.yaml")


def test_bad_yaml_reports_file_and_line(sample_pack_dir):
    (sample_pack_dir / "002.yaml").write_text("id: x\nquestion: [unclosed\nanswer: y\n", encoding="utf-8")
    problems = _problems(sample_pack_dir)
    assert len(problems) == 1
    assert "002.yaml:" in problems[0] and "bad YAML" in problems[0]


def test_missing_and_empty_fields_name_the_entry(sample_pack_dir):
    data = dict(SAMPLE_ENTRIES[1])
    data["answer"] = "   "
    del data["question"]
    (sample_pack_dir / "002.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems = _problems(sample_pack_dir)
    assert any("[sock-permission]" in p and "'answer'" in p for p in problems)
    assert any("[sock-permission]" in p and "'question'" in p for p in problems)
    # the line of the empty answer is reported
    line = next(i for i, l in enumerate((sample_pack_dir / "002.yaml").read_text().splitlines(), 1) if l.startswith("answer"))
    assert any(f"002.yaml:{line} [sock-permission]" in p for p in problems)


def test_duplicate_id_points_at_both_places(sample_pack_dir):
    dup = dict(SAMPLE_ENTRIES[0], n=99)
    (sample_pack_dir / "099.yaml").write_text(yaml.safe_dump(dup, allow_unicode=True), encoding="utf-8")
    problems = _problems(sample_pack_dir)
    assert len(problems) == 1
    assert "099.yaml:" in problems[0] and "duplicate id" in problems[0] and "001.yaml" in problems[0]


def test_wrong_types_and_unknown_fields(sample_pack_dir):
    data = dict(SAMPLE_ENTRIES[2], n="three", aliases={"a": 1}, colour="blue", id="Not A Slug")
    (sample_pack_dir / "003.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    text = "\n".join(_problems(sample_pack_dir))
    assert "'n' must be a non-negative whole number" in text
    assert "'aliases' must be a list of strings" in text
    assert "unknown field 'colour'" in text
    assert "is not a slug" in text


def test_a_broken_pack_is_refused_whole(sample_pack_dir):
    (sample_pack_dir / "004.yaml").write_text("- just\n- a list of strings\n", encoding="utf-8")
    with pytest.raises(PackError) as err:
        load_pack(sample_pack_dir)
    assert "004.yaml" in str(err.value)


def test_empty_folder_and_missing_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no entry files" in _problems(tmp_path / "empty")[0]
    assert "knowledge pack folder not found" in _problems(tmp_path / "nope")[0]
    (tmp_path / "file.yaml").write_text("id: x\n", encoding="utf-8")
    assert "not a folder" in _problems(tmp_path / "file.yaml")[0]


def test_several_entries_per_file_and_entries_key(tmp_path):
    folder = tmp_path / "multi"
    folder.mkdir()
    (folder / "all.yaml").write_text(yaml.safe_dump({"entries": SAMPLE_ENTRIES[:2]}, allow_unicode=True), encoding="utf-8")
    (folder / "more.yaml").write_text(yaml.safe_dump(SAMPLE_ENTRIES[2:4], allow_unicode=True), encoding="utf-8")
    assert [e.n for e in load_pack(folder).entries] == [1, 2, 3, 4]


def test_negatives_file_is_read_and_checked(sample_pack_dir):
    (sample_pack_dir / "negatives.yaml").write_text(
        yaml.safe_dump([{"topic": "chat", "phrasings": ["大家好", "thanks!"]}], allow_unicode=True), encoding="utf-8"
    )
    assert load_pack(sample_pack_dir).negatives == (("大家好", "thanks!"),)
    (sample_pack_dir / "negatives.yaml").write_text("- topic: x\n  phrasings: 3\n", encoding="utf-8")
    assert any("negatives.yaml" in p and "phrasings" in p for p in _problems(sample_pack_dir))


def test_english_title_section_and_review_date_are_read(sample_pack_dir):
    data = dict(
        SAMPLE_ENTRIES[1], question_en="Permission denied on the Docker socket", section_en="Engine", subsection_en="Setup"
    )
    text = yaml.safe_dump(data, allow_unicode=True) + "reviewed: 2026-12-07\n"  # unquoted: YAML's own date type
    (sample_pack_dir / "002.yaml").write_text(text, encoding="utf-8")
    entry = next(e for e in load_pack(sample_pack_dir).entries if e.id == data["id"])
    assert (entry.question_en, entry.section_en, entry.reviewed) == (data["question_en"], "Engine", "2026-12-07")
    assert entry.question_for("en") == data["question_en"] and entry.question_for("zh") == data["question"]
    assert entry.section_for("en") == "Engine" and entry.section_for("zh") == data.get("section", "")
    assert entry.subsection_for("en") == "Setup" and {"Engine", "Setup"} <= set(entry.section_names())
    # entries without them fall back to the original title and section, never to ""
    plain = next(e for e in load_pack(sample_pack_dir).entries if e.id != data["id"])
    assert plain.reviewed == "" and plain.question_for("en") == plain.question


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "2026-12-07 10:00:00", "'7 Dec 2026'", "20261207", "[2026]"])
def test_a_bad_review_date_is_a_problem_with_file_and_line(sample_pack_dir, value):
    text = yaml.safe_dump(dict(SAMPLE_ENTRIES[1]), allow_unicode=True)
    (sample_pack_dir / "002.yaml").write_text(text + f"reviewed: {value}\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    problems = _problems(sample_pack_dir)
    assert len(problems) == 1
    assert f"002.yaml:{line} [{SAMPLE_ENTRIES[1]['id']}]" in problems[0] and "YYYY-MM-DD" in problems[0]
