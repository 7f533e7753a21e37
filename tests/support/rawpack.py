"""A raw-imported FAQ as a new user has one: titles and bodies, no aliases,
no negatives, no keywords. About a made-up command-line tool, written for the
tests (no real FAQ or evaluation row went into it)."""
from __future__ import annotations

from pathlib import Path

import yaml

RAW_FAQ = [
    ("How do I install gizmo on Linux?", "Download the tarball, unpack it and put the `gizmo` binary on your PATH.\n\n```sh\ntar xf gizmo.tar.gz && sudo mv gizmo /usr/local/bin/\n```"),
    ("Why does gizmo say `permission denied` when it writes the cache?", "The cache folder belongs to root because gizmo was once run with sudo. Give it back to your user:\n\n```sh\nsudo chown -R $USER ~/.cache/gizmo\n```"),
    ("How do I change the registry address of the internal mirror?", "Set `registry = https://mirror.example.internal` in `~/.gizmo/config.toml`, or pass `--registry` on the command line."),
    ("Can gizmo run behind a corporate proxy?", "Yes. Export `HTTPS_PROXY` before running it; gizmo reads the standard proxy variables."),
    ("What does the error `manifest not found` mean?", "The tag you asked for does not exist in the registry. Check the spelling of the tag, or list the tags with `gizmo tags NAME`."),
    ("How do I upgrade gizmo to the latest version?", "Run `gizmo self-update`. Packages installed by your distribution are upgraded with its package manager instead."),
    ("Why is downloading packages so slow?", "The default registry is far away from most users. Configure a mirror close to you and downloads get much faster."),
    ("How can I uninstall gizmo completely?", "Delete the binary, then remove `~/.gizmo` and `~/.cache/gizmo`."),
    ("Does gizmo work on Windows?", "Only inside WSL 2. Native Windows builds are not published."),
    ("How do I write a plugin for gizmo?", "A plugin is an executable named `gizmo-NAME` on your PATH; gizmo runs it for `gizmo NAME`."),
    ("Where are the log files kept?", "In `~/.gizmo/logs`, one file a day. Run with `--verbose` to log every request."),
    ("How do I pin a package to a specific version?", "Write `name@1.2.3` in `gizmo.lock` or run `gizmo pin name 1.2.3`."),
    ("Why does gizmo fail with `certificate verify failed`?", "Your system's certificate store does not trust the registry's certificate, often because of a proxy that intercepts TLS. Add the proxy's CA to the store."),
    ("Can I use gizmo in a CI pipeline?", "Yes: set `GIZMO_TOKEN` as a secret and run `gizmo install --frozen` so the lock file is used as it is."),
    ("How do I report a bug?", "Open an issue with the output of `gizmo doctor` and the exact command you ran."),
    ("为什么 gizmo 启动时提示找不到配置文件？", "第一次运行前先执行 `gizmo init`，它会在 `~/.gizmo/config.toml` 生成默认配置。"),
    ("gizmo 支持离线安装吗？", "支持。在有网络的机器上运行 `gizmo bundle` 打包，再拷到离线机器上用 `gizmo install --from bundle.tar` 安装。"),
    ("How do I clean up old cached packages?", "Run `gizmo cache prune`; it removes every cached package no project uses."),
]


def write_raw_pack(folder: Path, name: str = "gizmo-faq", faq=RAW_FAQ, negatives: list | None = None) -> Path:
    """A pack folder as `faqbot knowledge import` writes it (first line of the body as the answer)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text(yaml.safe_dump({"name": name, "title": "Gizmo FAQ"}), encoding="utf-8")
    for n, (question, body) in enumerate(faq, 1):
        entry = {"id": f"q{n:03d}", "n": n, "question": question, "answer": body.split("\n")[0], "body": body}
        (folder / f"{n:03d}.yaml").write_text(yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if negatives is not None:
        (folder / "negatives.yaml").write_text(yaml.safe_dump(negatives, allow_unicode=True), encoding="utf-8")
    return folder
