"""Replay the project's Dockerfile without a Docker engine (for tests/test_deployment.py).

The contract is written at the top of the Dockerfile: the build stage (the first FROM) copies
paths of the build context into its WORKDIR and runs plain shell RUN lines that use `python`
and the venv at /opt/venv; the runtime stage's ENV lines are `KEY=value` pairs; HEALTHCHECK
and CMD use the exec (JSON) form. Here the build context is copied as `.dockerignore` allows,
/opt/venv and /data become folders of a scratch directory, and `python` is an interpreter that
an unprivileged user can run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: the environment a container starts from before the image's ENV lines (Docker's default PATH;
#: the python base image's LANG)
CONTAINER_BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}
#: the unprivileged user the runtime steps run as (nobody)
UID = GID = 65534


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    image: str
    name: str | None
    steps: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [s.args for s in self.steps if s.keyword == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages): continuation lines joined, comment lines dropped."""
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):
            continue  # comments, also inside a continued instruction (as Docker does)
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        buf += raw
        if buf.strip():
            logical.append(buf.strip())
        buf = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(image, name))
        elif not stages and keyword == "ARG":
            key, _, default = rest.partition("=")
            args[key] = default
        elif stages:
            stages[-1].steps.append(Instruction(keyword, rest))
    return args, stages


def exec_form(args: str) -> list[str]:
    """The JSON array of `CMD [...]` (HEALTHCHECK options before CMD are skipped)."""
    start = args.index("[")
    value = json.loads(args[start:])
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ValueError(f"not an exec-form command: {args}")
    return value


def env_pairs(args: str) -> list[tuple[str, str]]:
    """`ENV K=v K2="v 2"` as pairs (the legacy `ENV K v` form is refused)."""
    pairs = []
    for token in shlex.split(args):
        key, eq, value = token.partition("=")
        if not eq:
            raise ValueError(f"ENV must use KEY=value pairs: {args}")
        pairs.append((key, value))
    return pairs


def apply_env(env: dict[str, str], args: str, rewrite: Callable[[str], str]) -> dict[str, str]:
    """Docker's ENV: `$VAR`/`${VAR}` expand from the environment before this instruction."""
    before = dict(env)
    for key, value in env_pairs(args):
        value = re.sub(r"\$\{?(\w+)\}?", lambda m: before.get(m.group(1), ""), value)
        env[key] = rewrite(value)
    return env


# --- .dockerignore --------------------------------------------------------------------------


def dockerignore(root: Path) -> Callable[[str], bool]:
    """`ignored(relative_posix_path)` by the `.dockerignore` of `root` (`*`, `?`, `**`; a
    pattern that matches a folder excludes what is below it; `!` exceptions are not used)."""
    path = root / ".dockerignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    if any(p.startswith("!") for p in patterns):
        raise NotImplementedError("`!` exceptions in .dockerignore are not replayed")
    regexes = []
    for p in patterns:
        p = p.strip("/").removeprefix("./")
        rx = ""
        i = 0
        while i < len(p):
            if p.startswith("**/", i):
                rx, i = rx + "(?:.*/)?", i + 3
            elif p.startswith("**", i):
                rx, i = rx + ".*", i + 2
            elif p[i] == "*":
                rx, i = rx + "[^/]*", i + 1
            elif p[i] == "?":
                rx, i = rx + "[^/]", i + 1
            else:
                rx, i = rx + re.escape(p[i]), i + 1
        regexes.append(re.compile(rx + r"(?:/.*)?\Z"))
    return lambda rel: any(r.match(rel) for r in regexes)


def copy_context(root: Path, sources: list[str], dest: Path, into_dir: bool) -> None:
    """`COPY src... dest` from the build context as Docker does it: a folder's contents go
    into `dest`; a file goes to `dest` (or into it when `into_dir`); symlinks stay links and
    what `.dockerignore` excludes stays out."""
    ignored = dockerignore(root)
    for src in sources:
        rel = src.strip("/").removeprefix("./")
        origin = root / rel
        if ignored(rel) or not (origin.exists() or origin.is_symlink()):
            raise FileNotFoundError(f"COPY {src}: not in the build context")
        if origin.is_dir() and not origin.is_symlink():
            for dirpath, dirnames, filenames in os.walk(origin):
                here = Path(dirpath)
                sub = here.relative_to(origin)
                (dest / sub).mkdir(parents=True, exist_ok=True)
                dirnames[:] = [d for d in dirnames if not ignored(f"{rel}/{(sub / d).as_posix()}")]
                links = [d for d in dirnames if (here / d).is_symlink()]
                dirnames[:] = [d for d in dirnames if d not in links]
                for name in [*filenames, *links]:
                    if not ignored(f"{rel}/{(sub / name).as_posix()}"):
                        shutil.copy2(here / name, dest / sub / name, follow_symlinks=False)
        else:
            target = dest / origin.name if into_dir else dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target, follow_symlinks=False)


# --- users and interpreters -----------------------------------------------------------------


def unprivileged_prefix() -> list[str] | None:
    """The command prefix that runs a program as nobody ([] when we are not root), or None
    when neither setpriv nor runuser works here."""
    if os.geteuid() != 0:
        return []
    for prefix in (
        ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups"],
        ["runuser", "-u", "nobody", "--"],
    ):
        if shutil.which(prefix[0]) is None:
            continue
        try:
            out = subprocess.run(
                [*prefix, "id", "-u"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip() not in ("", "0"):
            return prefix
    return None


def base_interpreter(prefix: list[str], version: tuple[int, int] = (3, 11)) -> str | None:
    """A Python of at least `version` with venv that `prefix` (the unprivileged user) can run
    with its own standard library: the venv will point at it, as /opt/venv does in the image.
    The exact version comes first, as in the image."""
    candidates = [
        f"/usr/local/bin/python{version[0]}.{version[1]}",
        f"/usr/bin/python{version[0]}.{version[1]}",
        getattr(sys, "_base_executable", sys.executable),
        "/usr/local/bin/python3",
        "/usr/bin/python3",
    ]
    probe = "import sys, venv, ensurepip; print(sys.prefix, *sys.version_info[:2])"
    for exe in dict.fromkeys(candidates):
        if not os.path.isfile(exe):
            continue
        try:
            mine = subprocess.run([exe, "-c", probe], capture_output=True, text=True, timeout=20)
            theirs = subprocess.run(
                [*prefix, exe, "-c", probe], capture_output=True, text=True, timeout=20, cwd="/"
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if mine.returncode or theirs.returncode or mine.stdout != theirs.stdout:
            continue  # e.g. a pyenv build under /root: nobody would get another stdlib
        major, minor = (int(x) for x in mine.stdout.split()[-2:])
        if (major, minor) >= version:
            return exe
    return None


def rewriter(mapping: Mapping[str, Path]) -> Callable[[str], str]:
    """Replace image paths (/opt/venv, /data) by scratch folders, whole path segments only."""

    def rewrite(text: str) -> str:
        for image_path, local in mapping.items():
            text = re.sub(rf"(?<![\w.]){re.escape(image_path)}(?=/|:|\s|$)", str(local), text)
        return text

    return rewrite


def run_build_stage(
    stage: Stage,
    context: Path,
    root: Path,
    rewrite: Callable[[str], str],
    python: str,
    extra_env: Mapping[str, str],
    timeout: float,
) -> subprocess.CompletedProcess[str] | None:
    """COPY and RUN the build stage into `root`; the failing RUN's result, or None when all
    succeeded."""
    workdir = root / "src"
    shim = root / "shim"
    shim.mkdir(parents=True)
    (shim / "python").write_text(f'#!/bin/sh\nexec "{python}" "$@"\n', encoding="utf-8")
    (shim / "python").chmod(0o755)
    env = {**os.environ, **extra_env}
    env["PATH"] = f"{shim}{os.pathsep}{env.get('PATH', '')}"
    for step in stage.steps:
        if step.keyword == "WORKDIR":
            workdir = root / step.args.strip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif step.keyword == "ENV":
            env = apply_env(env, step.args, rewrite)
        elif step.keyword == "COPY":
            parts = shlex.split(step.args)
            if any(p.startswith("--") for p in parts):
                raise ValueError(f"COPY flags are not replayed in the build stage: {step.args}")
            dest = parts[-1]
            target = workdir / dest if not dest.startswith("/") else root / dest.strip("/")
            into_dir = dest.endswith("/") or len(parts) > 2 or target.is_dir()
            copy_context(context, parts[:-1], target, into_dir)
        elif step.keyword == "RUN":
            command = re.sub(r"^(?:--\S+\s+)+", "", step.args)  # --mount=type=cache,... etc.
            result = subprocess.run(
                ["sh", "-c", rewrite(command)],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if result.returncode != 0:
                return result
    return None


def runtime_env(stage: Stage, rewrite: Callable[[str], str]) -> dict[str, str]:
    """The container's environment: Docker's defaults, then the stage's ENV lines."""
    env = dict(CONTAINER_BASE_ENV)
    for args in stage.all("ENV"):
        env = apply_env(env, args, rewrite)
    return env
