"""`faqbot eval`'s labels: the three spellings of the evaluation README, pack + id
identity with several packs loaded, and the out-of-scope suggestion rate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.evaluate import evaluate
from bot.cli.labels import IDS, NUMBERS, TITLES, read_rows, resolve, spelling_of, title_key
from bot.matching.engine import Engine
from bot.matching.types import Decision, Mode, Thresholds
from tests.support.packs import SAMPLE_ENTRIES, write_pack

HEADER = "query\texpected\tlang\tnote\n"
# the same five questions, labelled in each of the three spellings
QUERIES = [
    ("docker pull 好慢啊", "zh"),
    ("container exits right after docker run", "en"),
    ("EXPOSE 和 -p 有啥区别", "mix"),
    ("今天中午吃什么", "zh"),
    ("how do I start containers on boot", "en"),
]
NUMBER_LABELS = ["1", "3", "4", "-", "6,1"]
ID_LABELS = ["slow-pull", "sample-pack/exits-immediately", "sample/expose-vs-p", "-", "start-on-boot,slow-pull"]
TITLE_LABELS = [
    "`docker pull` 好慢啊怎么办？",  # inline code marks around words of the stored title
    "  为什么容器一运行就退出啊？ ",  # surrounding whitespace
    r"怎么映射宿主端口？**Dockerfile** 中的EXPOSE和 docker run \-p 有啥区别？",  # emphasis and an escape
    "-",
    "DOCKER 容器如何随系统一同启动？ || docker pull 好慢啊怎么办？",  # case, and two acceptable titles
]


def tsv(tmp_path: Path, labels: list[str], queries=QUERIES, name: str = "set.tsv") -> Path:
    path = tmp_path / name
    body = "".join(f"{q}\t{label}\t{lang}\tnote\n" for (q, lang), label in zip(queries, labels))
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.mark.parametrize("labels, spelling", [(NUMBER_LABELS, NUMBERS), (ID_LABELS, IDS), (TITLE_LABELS, TITLES)])
def test_each_spelling_is_detected_and_gives_the_same_figures(tmp_path, sample_pack_dir, labels, spelling):
    engine = Engine.from_packs([str(sample_pack_dir)])
    rows = read_rows(tsv(tmp_path, labels))
    assert {r.spelling for r in rows} == {spelling}
    assert [len(r.labels) for r in rows] == [1, 1, 1, 0, 2]
    report = evaluate(engine, rows)
    assert report.labels == spelling and report.unresolved == []
    assert (report.rows, report.in_scope) == (5, 4)
    assert report.top1 == 1.0 and report.top3 == 1.0
    # every spelling names the same entries, so every figure is the same as with numbers
    reference = evaluate(engine, read_rows(tsv(tmp_path, NUMBER_LABELS, name="numbers.tsv")))
    assert (report.top1, report.mrr, report.answer_precision, report.coverage, report.false_answer_rate) == (
        reference.top1, reference.mrr, reference.answer_precision, reference.coverage, reference.false_answer_rate
    )


def test_spelling_detection_and_forced_spelling(tmp_path):
    assert spelling_of(["7", "7,97", "-"]) == NUMBERS
    assert spelling_of(["slow-pull", "docker-faq/slow-pull,7"]) == IDS
    assert spelling_of(["How do I update youtube-dl?", "slow-pull"]) == TITLES
    assert spelling_of(["update || upgrade"]) == TITLES
    # a title file whose titles all look like ids can be read as titles on request
    path = tsv(tmp_path, ["docker"] * 5)
    assert {r.spelling for r in read_rows(path)} == {IDS}
    assert {r.spelling for r in read_rows(path, TITLES)} == {TITLES}
    with pytest.raises(ValueError, match=r"set.tsv:3"):
        read_rows(tsv(tmp_path, ["1", "two", "3", "-", "4"]), NUMBERS)


def test_title_key_sets_aside_marks_case_width_and_spaces():
    assert title_key(r"How do I set `http\_proxy`?") == title_key("how do i set http_proxy?")
    assert title_key("**Why** does *this* fail?") == "why does this fail?"
    assert title_key("[Proxy](https://x.y) settings") == "proxy settings"
    assert title_key("ＦＡＱ  问题\t一") == "faq 问题 一"
    # marks that are part of the words stay: http_proxy is not http proxy
    assert title_key("http_proxy") != title_key("http proxy")


def test_titles_survive_a_reimport_that_renumbers_and_adds_marks(tmp_path):
    labels = tsv(tmp_path, TITLE_LABELS)
    # the same FAQ imported again: new numbers and ids, titles now keep inline code and escapes
    reimported = [
        {**e, "n": 100 - e["n"], "id": f"q{100 - e['n']}",
         "question": e["question"].replace("docker pull", "`docker pull`").replace("-p", r"\-p")}
        for e in SAMPLE_ENTRIES
    ]
    engine = Engine.from_packs([str(write_pack(tmp_path / "again", reimported))])
    report = evaluate(engine, read_rows(labels))
    assert report.unresolved == [] and report.top1 == 1.0


def two_packs(tmp_path: Path, sample_pack_dir: Path) -> Engine:
    """The sample pack beside another pack that reuses its numbers and ids for other questions."""
    other = [
        {"id": "slow-pull", "n": 1, "question": "How do I cook rice in a pot?", "answer": "Rinse, 1:1.2 water, 12 minutes.",
         "aliases": ["how do I cook rice", "rice cooking without a rice cooker", "cook rice on the stove"]},
        {"id": "noodles", "n": 3, "question": "How long do noodles boil?", "answer": "About 8 minutes.",
         "aliases": ["boil noodles", "how long to cook pasta"]},
    ]
    kitchen = write_pack(tmp_path / "kitchen", other, meta={"name": "kitchen"})
    return Engine.from_packs([str(sample_pack_dir), str(kitchen)])


def test_with_two_packs_a_hit_is_judged_by_pack_and_id_not_by_number(tmp_path, sample_pack_dir):
    engine = two_packs(tmp_path, sample_pack_dir)
    rice = [("how do I cook rice", "en")]
    assert engine.ask("how do I cook rice", Mode.REPLY).top.id == "slow-pull"  # the kitchen's entry, n 1 too
    # bare numbers and ids refer to the first pack: the kitchen's n=1 / slow-pull is not a hit
    for label in ("1", "slow-pull", "sample-pack/slow-pull"):
        report = evaluate(engine, read_rows(tsv(tmp_path, [label], rice, name=f"{label.replace('/', '_')}.tsv")))
        assert report.top1 == 0.0, label
        assert report.label_pack == "sample-pack"
    for label in ("kitchen/slow-pull", "How do I cook rice in a pot?"):
        report = evaluate(engine, read_rows(tsv(tmp_path, [label], rice, name="k.tsv")))
        assert report.top1 == 1.0 and report.unresolved == [], label
    # --label-pack points bare labels at the other pack
    report = evaluate(engine, read_rows(tsv(tmp_path, ["1"], rice, name="n.tsv")), label_pack="kitchen")
    assert report.top1 == 1.0 and report.label_pack == "kitchen"
    misses = evaluate(engine, read_rows(tsv(tmp_path, ["1"], rice, name="m.tsv"))).misses
    assert misses[0]["got"] == "kitchen/slow-pull"


def test_labels_naming_no_loaded_entry_are_reported_and_count_as_misses(tmp_path, sample_pack_dir):
    engine = Engine.from_packs([str(sample_pack_dir)])
    rows = read_rows(tsv(tmp_path, ["1", "no-such-entry", "4", "-", "other-pack/start-on-boot"]))
    resolved = resolve(rows, engine.entries, engine.packs)
    assert resolved.unresolved == ("line 3: no-such-entry", "line 6: other-pack/start-on-boot")
    report = evaluate(engine, rows)
    assert report.top1 == 0.5 and len(report.unresolved) == 2


def test_out_of_scope_suggest_rate_is_the_share_of_dash_rows_that_get_a_list(tmp_path, sample_pack_dir):
    chatter = ["今天中午吃什么", "大家好", "docker compose 怎么用", "k8s 怎么部署", "how do I cook rice", "哈哈哈哈"]
    probe = Engine.from_packs([str(sample_pack_dir)])
    scores = sorted(probe.ask(q, Mode.REPLY).score for q in chatter)
    # a suggestion bar between the lowest and highest of these scores: some get a list, some nothing
    bar = (scores[1] + scores[-2]) / 2
    engine = Engine.from_packs([str(sample_pack_dir)], Thresholds(reply=0.97, ambient=0.98, suggest=bar))
    rows = read_rows(tsv(tmp_path, ["-"] * len(chatter), [(q, "zh") for q in chatter]))
    report = evaluate(engine, rows)
    listed = sum(engine.ask(q, Mode.REPLY).decision is Decision.SUGGEST for q in chatter)
    assert 0 < listed < len(chatter)
    assert report.out_of_scope_suggest_rate == round(listed / len(chatter), 4)
    assert report.by_lang["zh"]["out_of_scope_suggest_rate"] == report.out_of_scope_suggest_rate
    assert report.false_answer_rate == 0.0
    # the sweep reports it at each threshold, and it is in the JSON
    data = json.loads(json.dumps(report.to_json()))
    assert data["out_of_scope_suggest_rate"] == report.out_of_scope_suggest_rate


def test_the_sweep_plot_has_a_title_a_y_label_threshold_marks_and_a_legend_that_hides_no_line(tmp_path, sample_pack_dir):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from bot.cli.evaluate import plot_sweep, sweep_figure

    engine = Engine.from_packs([str(sample_pack_dir)])
    report = evaluate(engine, read_rows(tsv(tmp_path, NUMBER_LABELS)), sweep=[0.2, 0.4, 0.6, 0.8])
    fig = sweep_figure(report, engine.thresholds, title="sample")
    ax = fig.axes[0]
    assert ax.get_title() == "sample" and ax.get_ylabel() and ax.get_xlabel()
    lines = ax.get_lines()
    marks = {round(line.get_xdata()[0], 2) for line in lines if len(set(line.get_xdata())) == 1}
    assert marks == {engine.thresholds.reply, engine.thresholds.ambient}
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [line.get_label() for line in lines]  # every line named
    fig.canvas.draw()
    # the legend sits outside the plotting area, so it covers no line
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1
    plt.close(fig)
    png = tmp_path / "sweep.png"
    plot_sweep(report, str(png), engine.thresholds)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_helpful_list_rate_is_the_share_of_answerable_rows_whose_list_names_a_right_entry(tmp_path, sample_pack_dir):
    # nothing is answered (reply 0.999), every row with a candidate gets a list (suggest 0):
    # the rate counts the lists that name a labelled entry, as the list a user sees
    engine = Engine.from_packs([str(sample_pack_dir)], Thresholds(reply=0.999, ambient=0.999, suggest=0.0, decisive=1.0))
    labels = ["1", "3", "2", "-", "6,1"]  # the third is labelled wrongly on purpose: its list may miss it
    rows = read_rows(tsv(tmp_path, labels))
    report = evaluate(engine, rows)
    hits = 0
    for (query, _), label in zip(QUERIES, labels):
        if label == "-":
            continue
        shown = engine.ask(query, Mode.REPLY)
        assert shown.decision is Decision.SUGGEST
        hits += any(str(c.entry.n) in label.split(",") for c in shown.candidates)
    assert 0 < hits < 4
    assert report.helpful_list_rate == round(hits / 4, 4) and report.coverage == 0.0
    assert json.loads(json.dumps(report.to_json()))["helpful_list_rate"] == report.helpful_list_rate
