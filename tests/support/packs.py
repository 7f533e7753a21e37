"""A small hand-written pack on the real file system (SAMPLE_ENTRIES, write_pack):
tests never need ../shared and do not depend on the exact wording of the curated Docker pack."""
from __future__ import annotations

from pathlib import Path

import yaml

SAMPLE_ENTRIES = [
    {
        "id": "slow-pull", "n": 1, "question": "docker pull 好慢啊怎么办？", "section": "安装、配置问题",
        "url": "https://example.org/faq#slow-pull",
        "answer": "配置镜像加速器：在 `/etc/docker/daemon.json` 写入 `registry-mirrors`，然后 `systemctl restart docker`。",
        "answer_en": "Configure a registry mirror: add `registry-mirrors` to `/etc/docker/daemon.json`, then restart docker.",
        "links": ["https://docs.docker.com/registry/recipes/mirror/"],
        "aliases": ["拉镜像太慢了", "镜像下载速度很慢怎么加速", "docker pull is very slow", "how to speed up docker pull with a mirror", "pull 镜像一直卡住不动"],
        "keywords": ["registry-mirror", "加速器", "daemon.json"],
        "body": "国内访问 Docker Hub 很慢，可以使用镜像加速器。",
    },
    {
        "id": "sock-permission", "n": 2, "question": "为什么执行 docker 命令会报 permission denied 没权限的错误啊？",
        "section": "安装、配置问题", "url": "https://example.org/faq#sock-permission",
        "answer": "把用户加入 docker 组：`sudo usermod -aG docker $USER`，然后重新登录。",
        "answer_en": "Add your user to the docker group: `sudo usermod -aG docker $USER`, then log in again.",
        "aliases": ["docker 命令没权限", "不用 sudo 怎么运行 docker", "permission denied while trying to connect to the docker daemon socket", "how to run docker without sudo", "普通用户执行 docker 报错"],
        "keywords": ["dial unix /var/run/docker.sock: connect: permission denied", "usermod -aG docker", "docker.sock"],
        "body": "只需要将操作 docker 的用户加入 docker 组。",
    },
    {
        "id": "exits-immediately", "n": 3, "question": "为什么容器一运行就退出啊？", "section": "使用问题",
        "url": "https://example.org/faq#exits",
        "answer": "容器的主进程退出容器就退出。让主进程在前台运行，不要用 `service xxx start` 之类的后台启动。",
        "answer_en": "A container lives as long as its main process. Run the main process in the foreground, not as a background service.",
        "aliases": ["容器启动后马上就停了", "容器起来就挂了", "container exits immediately after docker run", "my container stops right after it starts", "docker ps 看不到刚启动的容器"],
        "keywords": ["Exited (0)", "前台运行", "foreground"],
        "body": "容器不是虚拟机，主进程结束容器就结束。",
    },
    {
        "id": "expose-vs-p", "n": 4, "question": "怎么映射宿主端口？Dockerfile 中的EXPOSE和 docker run -p 有啥区别？",
        "section": "网络问题", "url": "https://example.org/faq#ports",
        "answer": "`EXPOSE` 只是声明端口；真正映射到宿主要用 `docker run -p 宿主端口:容器端口`。",
        "answer_en": "`EXPOSE` only documents a port; to publish it on the host use `docker run -p host:container`.",
        "aliases": ["EXPOSE 和 -p 的区别", "端口映射怎么做", "what is the difference between EXPOSE and -p", "how do I publish a container port to the host", "容器端口怎么暴露到宿主机"],
        "keywords": ["EXPOSE", "--publish", "端口映射"],
        "body": "EXPOSE 是声明，-p 是映射。",
    },
    {
        "id": "volume-vs-bind", "n": 5, "question": "卷和挂载目录有什么区别？", "section": "存储问题",
        "url": "https://example.org/faq#volumes",
        "answer": "卷由 Docker 管理，位于 `/var/lib/docker/volumes`；挂载目录是宿主上的任意路径，直接映射进容器。",
        "answer_en": "A volume is managed by Docker under `/var/lib/docker/volumes`; a bind mount maps any host path into the container.",
        "aliases": ["volume 和 bind mount 有什么不同", "数据卷跟挂载宿主目录的区别", "volume vs bind mount", "named volume or host directory, which should I use", "-v 挂载目录和卷有什么区别"],
        "keywords": ["bind mount", "named volume", "/var/lib/docker/volumes"],
        "body": "卷是 Docker 管理的存储，挂载目录是宿主路径。",
    },
    {
        "id": "start-on-boot", "n": 6, "question": "Docker 容器如何随系统一同启动？", "section": "使用问题",
        "url": "https://example.org/faq#restart",
        "answer": "用重启策略：`docker run --restart=always`（或 `unless-stopped`），并让 docker 服务开机自启。",
        "answer_en": "Use a restart policy: `docker run --restart=always` (or `unless-stopped`) and enable the docker service at boot.",
        "aliases": ["容器开机自启", "服务器重启后容器没起来", "how to start a container automatically on boot", "container does not come back after reboot", "docker 容器怎么设置自动重启"],
        "keywords": ["--restart=always", "unless-stopped", "restart policy"],
        "body": "使用 --restart 参数设置重启策略。",
    },
]


def write_pack(folder: Path, entries=SAMPLE_ENTRIES, meta: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text(
        yaml.safe_dump(meta or {"name": "sample", "title": "Sample FAQ", "author": "tests"}, allow_unicode=True),
        encoding="utf-8",
    )
    for entry in entries:
        (folder / f"{entry['n']:03d}.yaml").write_text(yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder
