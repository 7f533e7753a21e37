"""The command line: output shapes and exit codes, in-process on the sample pack."""
import io
import json
from pathlib import Path

import pytest

from adapters.console.chat import run_console
from bot.cli import main
from bot.matching.engine import Engine
from bot.ops.config import Config

EVAL_TSV = (
    "query\texpected\tlang\tnote\n"
    "docker pull 好慢啊\t1\tzh\tmine\n"
    "container exits right after docker run\t3\ten\tmine\n"
    "EXPOSE 和 -p 有啥区别\t4\tmix\tmine\n"
    "今天中午吃什么\t-\tzh\tchit-chat\n"
    "how do I start containers on boot\t6,1\ten\ttwo acceptable\n"
)


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ask_json_shape(capsys, sample_pack_dir):
    code, out, _ = run(capsys, "ask", "--json", "--pack", str(sample_pack_dir), "docker pull 好慢啊")
    data = json.loads(out)
    assert code == 0
    assert {"answered", "id", "n", "question", "url", "score", "candidates"} <= set(data)
    assert data["answered"] is True and data["id"] == "slow-pull" and data["n"] == 1 and data["pack"] == "sample-pack"
    assert all({"id", "n", "score"} <= set(c) for c in data["candidates"])
    assert data["candidates"][0]["id"] == "slow-pull"


def test_ask_exit_code_when_not_answered(capsys, sample_pack_dir):
    code, out, _ = run(capsys, "ask", "--json", "--ambient-mode", "--pack", str(sample_pack_dir), "哈哈哈哈")
    assert code == 1 and json.loads(out)["answered"] is False


def test_ask_text_output_has_answer_link_and_candidates(capsys, sample_pack_dir):
    code, out, _ = run(capsys, "ask", "--pack", str(sample_pack_dir), "how do I run docker without sudo")
    assert code == 0
    assert "usermod -aG docker" in out and "https://example.org/faq#sock-permission" in out
    assert "#2 sock-permission" in out


def test_eval_json_keys(capsys, sample_pack_dir, tmp_path):
    tsv = tmp_path / "eval.tsv"
    tsv.write_text(EVAL_TSV, encoding="utf-8")
    code, out, _ = run(capsys, "eval", "--json", "--pack", str(sample_pack_dir), str(tsv))
    data = json.loads(out)
    assert code == 0
    for key in ("rows", "top1", "top3", "mrr", "answer_precision", "coverage", "false_answer_rate"):
        assert key in data
    assert {"answer_precision", "coverage", "false_answer_rate"} <= set(data["ambient"])
    assert data["rows"] == 5 and data["in_scope"] == 4
    assert set(data["by_lang"]) == {"zh", "en", "mix"}
    assert data["top1"] == 1.0 and data["top3"] == 1.0
    assert data["sweep"] and all(0 <= s["coverage"] <= 1 for s in data["sweep"])


def test_eval_text_and_plot(capsys, sample_pack_dir, tmp_path):
    pytest.importorskip("matplotlib")
    tsv = tmp_path / "eval.tsv"
    tsv.write_text(EVAL_TSV, encoding="utf-8")
    png = tmp_path / "sweep.png"
    code, out, _ = run(capsys, "eval", "--pack", str(sample_pack_dir), "--plot", str(png), str(tsv))
    assert code == 0 and "top-1" in out and "sweep" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_eval_rejects_bad_files(capsys, sample_pack_dir, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("query\texpected\nfoo\tseven\n", encoding="utf-8")
    code, _, err = run(capsys, "eval", "--pack", str(sample_pack_dir), str(bad))
    assert code == 2 and "bad.tsv:2" in err
    code, _, err = run(capsys, "eval", "--pack", str(sample_pack_dir), str(tmp_path / "missing.tsv"))
    assert code == 2 and "missing.tsv" in err


def test_validate_exit_codes(capsys, sample_pack_dir):
    code, out, _ = run(capsys, "knowledge", "validate", str(sample_pack_dir))
    assert code == 0 and "ok, 6 entries" in out
    (sample_pack_dir / "007.yaml").write_text("id: broken\nn: 7\nquestion: q\n", encoding="utf-8")
    code, out, _ = run(capsys, "knowledge", "validate", str(sample_pack_dir))
    assert code == 1 and "007.yaml" in out and "[broken]" in out and "'answer'" in out


def test_broken_pack_refuses_to_start(capsys, sample_pack_dir):
    (sample_pack_dir / "007.yaml").write_text("id: broken\nn: 7\nquestion: q\n", encoding="utf-8")
    code, _, err = run(capsys, "ask", "--pack", str(sample_pack_dir), "docker pull 好慢")
    assert code == 2 and "refusing to start" in err and "007.yaml" in err


def test_bench_json_keys(capsys, sample_pack_dir):
    code, out, _ = run(
        capsys, "bench", "--json", "--pack", str(sample_pack_dir), "--synthetic", "300", "--queries", "50", "--passes", "2"
    )
    data = json.loads(out)
    assert code == 0
    for key in ("cold_start_s", "p50_ms", "p99_ms", "throughput", "rss_mb"):
        assert data[key] > 0 and data["synthetic"][key] > 0
    assert data["synthetic"]["entries"] == 300
    for result in (data, data["synthetic"]):
        # the reported p99 is the median pass's, inside the range of the passes
        low, high = result["p99_range_ms"]
        assert result["passes"] == 2 and low <= result["p99_ms"] <= high


def test_bench_table_names_its_method(capsys, sample_pack_dir):
    code, out, _ = run(capsys, "bench", "--pack", str(sample_pack_dir), "--queries", "20", "--passes", "1")
    assert code == 0 and "p99 range" in out and "1 passes per pack" in out and "synthetic" not in out


def test_bench_with_no_pack_measures_the_docker_pack_and_no_synthetic_one(capsys, monkeypatch, tmp_path):
    """`faqbot bench` without --pack: the configured packs (built in: the Docker pack); the
    synthetic pack only with --synthetic N."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAQBOT_CONFIG", raising=False)
    code, out, _ = run(capsys, "bench", "--json", "--queries", "20", "--passes", "1")
    data = json.loads(out)
    assert code == 0 and data["entries"] == 100 and data["packs"] == ["docker-faq"] and "synthetic" not in data


def test_console_behaves_like_a_group(sample_pack_dir):
    engine = Engine.from_packs([str(sample_pack_dir)])
    lines = io.StringIO(
        "大家好\n"  # overheard chit-chat: silence
        "@bot docker pull 好慢啊\n"  # asked: answered
        "/faq show 2\n"
        "/faq list 网络\n"
        "/faq\n"
    )
    out = io.StringIO()
    assert run_console(engine, Config(), lines=lines, out=out) == 0
    text = out.getvalue()
    replies = [block for block in text.split("bot> ") if block.strip()]
    assert len(replies) == 4
    assert "配置镜像加速器" in replies[0]
    assert replies[1].startswith("#2 ") and "usermod" in replies[1]
    assert "#4 " in replies[2] and "#1 " not in replies[2]
    assert "/faq list" in replies[3]
