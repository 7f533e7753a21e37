"""Packs side by side: a pack's negatives hold back only its own entries, entries
are named by pack + id, and a channel can be limited to some of the packs."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.matching.engine import Engine, LearnedOverlay
from bot.matching.types import Decision
from tests.support.packs import SAMPLE_ENTRIES, write_pack

INGRESS = "how do I set up a kubernetes ingress controller"

K8S_ENTRIES = [
    {
        # same id and number as the Docker sample's first entry: identity must be pack + id
        "id": "slow-pull", "n": 1, "question": "How do I set up a Kubernetes ingress controller?",
        "answer": "Install an ingress controller (ingress-nginx), then create an Ingress resource with your host rules.",
        "aliases": ["kubernetes ingress 怎么配置", "set up ingress-nginx on my cluster", "expose a service with an Ingress"],
    },
    {
        "id": "pod-pending", "n": 2, "question": "Why is my pod stuck in Pending?",
        "answer": "No node has room for it: check `kubectl describe pod` for the scheduler's reason.",
        "aliases": ["pod 一直 pending", "pod never gets scheduled", "kubectl get pods shows Pending forever"],
    },
]


@pytest.fixture
def two_packs(tmp_path: Path) -> tuple[str, str]:
    docker = write_pack(tmp_path / "docker-sample")
    # the Docker pack says Kubernetes questions are not its business
    negatives = [{"topic": "kubernetes", "phrasings": [INGRESS, "kubernetes ingress 怎么配置", "k8s ingress setup"]}]
    (docker / "negatives.yaml").write_text(yaml.safe_dump(negatives, allow_unicode=True), encoding="utf-8")
    k8s = write_pack(tmp_path / "k8s-faq", K8S_ENTRIES, {"name": "k8s-faq", "title": "K8s FAQ"})
    return str(docker), str(k8s)


def test_a_pack_negatives_hold_back_only_its_own_entries(two_packs):
    docker, k8s = two_packs
    alone = Engine.from_packs([docker])
    assert alone.ask(INGRESS).decision is not Decision.ANSWER  # its own negatives keep it quiet
    both = Engine.from_packs([docker, k8s])
    for question in (INGRESS, "kubernetes ingress 怎么配置"):
        result = both.ask(question)
        assert result.decision is Decision.ANSWER, result
        assert result.entry.key == "k8s-faq/slow-pull"
    # and the Docker pack's own answers are not disturbed by the other pack being there
    assert both.ask("docker pull 好慢啊").entry.key == "docker-sample/slow-pull"


def test_entries_are_named_by_pack_and_id(two_packs):
    docker, k8s = two_packs
    engine = Engine.from_packs([docker, k8s])
    assert engine.find("k8s-faq/slow-pull").question.startswith("How do I set up a Kubernetes")
    assert engine.find("docker-sample/slow-pull").question.startswith("docker pull")
    assert engine.find("k8s-faq/2").id == "pod-pending"
    assert engine.find("docker-sample/2").id == "sock-permission"
    assert engine.find("nowhere/slow-pull") is None
    assert engine.find(1, packs={"k8s-faq"}).pack == "k8s-faq"


def test_learned_aliases_and_rejections_follow_pack_and_id(two_packs):
    docker, k8s = two_packs
    engine = Engine.from_packs([docker, k8s])
    phrase = "镜像仓库的加速地址在哪配"
    engine.apply_learned(LearnedOverlay(revision=1, aliases=(("docker-sample/slow-pull", phrase),)), rebuild=True)
    assert engine.ask(phrase).entry.key == "docker-sample/slow-pull"
    # a rejection names one pack's entry: the other pack's entry with the same id is untouched
    engine.apply_learned(
        LearnedOverlay(revision=2, aliases=(("docker-sample/slow-pull", phrase),), rejections=((INGRESS, "docker-sample/slow-pull"),)),
        rebuild=True,
    )
    assert engine.ask(INGRESS).entry.key == "k8s-faq/slow-pull"
    engine.apply_learned(LearnedOverlay(revision=3, rejections=((INGRESS, "k8s-faq/slow-pull"),)), rebuild=True)
    assert all(c.entry.key != "k8s-faq/slow-pull" for c in engine.ask(INGRESS).candidates)


def test_a_channel_limited_to_some_packs_is_answered_from_those_only(two_packs):
    docker, k8s = two_packs
    engine = Engine.from_packs([docker, k8s])
    only_k8s = engine.ask("docker pull 好慢啊", packs={"k8s-faq"})
    assert all(c.entry.pack == "k8s-faq" for c in only_k8s.candidates)
    assert only_k8s.decision is not Decision.ANSWER
    only_docker = engine.ask(INGRESS, packs={"docker-sample"})
    assert only_docker.decision is not Decision.ANSWER
    assert all(c.entry.pack == "docker-sample" for c in only_docker.candidates)
    assert engine.ask("pod 一直 pending", packs={"k8s-faq"}).entry.key == "k8s-faq/pod-pending"
    assert engine.ask("pod 一直 pending", packs=None).entry.key == "k8s-faq/pod-pending"


def test_sample_entries_are_unchanged_by_the_second_pack():
    # guard: the fixture relies on the shared sample keeping these ids
    assert SAMPLE_ENTRIES[0]["id"] == "slow-pull" and SAMPLE_ENTRIES[1]["n"] == 2
