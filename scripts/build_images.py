"""Build the two container images without a registry or a container daemon, and check them.

    python scripts/build_images.py [--only gateway|rasa] [--rasa-model train|trained]

No base image can be pulled here, so the bases are made locally: a Debian bookworm root file system
from Debian's packages (debootstrap, minbase) with the CPython this machine already has (3.10 and
3.11, from /root/.pyenv) installed under /usr/local. The Dockerfiles are then built unchanged with
buildah (vfs storage, chroot isolation: no daemon, no privileges beyond root), their `PYTHON_IMAGE`
argument pointing at the local bases. Each image is then run (buildah run) to check what the
container would do: the code imports, the process runs as the non-root user, and the health check
passes against the process started inside it (the gateway on SQLite; Rasa with its baked model).

`--rasa-model trained` builds the Rasa image with the model `make train` made in this checkout
(the Dockerfile's MODEL_STAGE=trained) instead of training it inside the build.

Prints the build time and size of each image. Needs root, debootstrap and buildah (Debian packages).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYENV = Path("/root/.pyenv/versions")
PYTHONS = {"3.10": "3.10.13", "3.11": "3.11.7"}
# What CPython's extension modules link against (ssl, ctypes, sqlite3, bz2, lzma, readline, uuid…).
RUNTIME_PACKAGES = ["ca-certificates", "libssl3", "libffi8", "libsqlite3-0", "zlib1g", "libbz2-1.0",
                    "liblzma5", "libreadline8", "libncursesw6", "libuuid1", "libgdbm6", "libexpat1",
                    "netbase", "tzdata"]
BUILDAH = ["buildah", "--storage-driver", "vfs"]
IMAGES = {
    "gateway": {"dockerfile": "deploy/gateway.Dockerfile", "python": "3.11",
                "tag": "localhost/child-protection-gateway"},
    "rasa": {"dockerfile": "deploy/rasa.Dockerfile", "python": "3.10",
             "tag": "localhost/child-protection-rasa"},
}


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def debian_root(work: Path) -> Path:
    rootfs = work / "rootfs"
    if not (rootfs / "etc/debian_version").exists():
        run(["debootstrap", "--variant=minbase", f"--include={','.join(RUNTIME_PACKAGES)}", "bookworm",
             str(rootfs), "http://deb.debian.org/debian"], stdout=subprocess.DEVNULL)
    return rootfs


def _skip_site_packages(version: str) -> object:
    site = f"lib/python{version}/site-packages/"

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        relative = info.name.split("/", 1)[1] if "/" in info.name else ""
        if relative.startswith(site) and not relative[len(site):].startswith(("pip", "setuptools", "_distutils")):
            return None
        if "/__pycache__" in relative or relative.startswith("lib/python" + version + "/test/"):
            return None
        return info

    return keep


def python_base(work: Path, rootfs: Path, version: str) -> str:
    """A local image like python:<version>-slim-bookworm: Debian plus this machine's CPython."""
    tag = f"localhost/python:{version}-slim-bookworm"
    context = work / f"python-{version}"
    context.mkdir(exist_ok=True)
    with tarfile.open(context / "rootfs.tar.gz", "w:gz") as archive:
        archive.add(rootfs, arcname=".")
    with tarfile.open(context / "python.tar.gz", "w:gz") as archive:
        archive.add(PYENV / PYTHONS[version], arcname="local", filter=_skip_site_packages(version))  # type: ignore[arg-type]
    # The machine's CA bundle: package registries are reached through it (pip is told to use it).
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", context / "ca-certificates.crt")
    (context / "pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    (context / "Containerfile").write_text(
        "FROM scratch\n"
        "ADD rootfs.tar.gz /\n"
        "ADD python.tar.gz /usr/\n"
        "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
        "COPY pip.conf /etc/pip.conf\n"
        "ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        f"RUN ldconfig && ln -sf python{version} /usr/local/bin/python "
        f"&& ln -sf python{version} /usr/local/bin/python3 "
        "&& rm -rf /var/lib/apt/lists/* && python -c 'import ssl, sqlite3, ctypes, lzma, bz2, uuid'\n"
        'CMD ["python3"]\n')
    run([*BUILDAH, "bud", "--isolation", "chroot", "-t", tag, str(context)], stdout=subprocess.DEVNULL)
    return tag


def build(name: str, base: str, build_args: dict[str, str]) -> tuple[float, str]:
    spec = IMAGES[name]
    started = time.monotonic()
    arguments = [item for key, value in {"PYTHON_IMAGE": base, **build_args}.items()
                 for item in ("--build-arg", f"{key}={value}")]
    # No --layers: the vfs driver stores every layer as a full copy of the file system, so a cached
    # layer per instruction costs the image's size each time (the Rasa image's ~3 GB × 15 steps
    # filled the disk); one commit per stage is enough for a build that is run once.
    # Docker's image format: the OCI format has no HEALTHCHECK, and buildah would drop the Dockerfile's.
    run([*BUILDAH, "bud", "--isolation", "chroot", "--format", "docker", *arguments,
         "-f", spec["dockerfile"], "-t", spec["tag"], str(ROOT)], stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    size = run([*BUILDAH, "images", "--format", "{{.Size}}", spec["tag"]], capture_output=True).stdout.split("\n")[0]
    return seconds, size.strip()


def check(name: str) -> list[str]:
    """Run the image's own user and code: what `docker run` would, without a daemon."""
    spec = IMAGES[name]
    healthcheck = run([*BUILDAH, "inspect", "--type", "image", "--format", "{{.Docker.Config.Healthcheck}}",
                       spec["tag"]], capture_output=True).stdout.strip()
    results = [f"HEALTHCHECK kept ({healthcheck})" if healthcheck not in ("", "<nil>") else "no HEALTHCHECK"]
    container = run([*BUILDAH, "from", spec["tag"]], capture_output=True).stdout.strip()
    try:
        inside = [*BUILDAH, "run", "--isolation", "chroot", container]
        user = run([*inside, "id", "-u"], capture_output=True).stdout.strip()
        results.append(f"runs as uid {user}")
        module = "api.main" if name == "gateway" else "rasa_auth.launch"
        run([*BUILDAH, "run", "--isolation", "chroot", container, "python", "-c", f"import {module}"])
        results.append(f"imports {module}")
        results.append(_gateway_health(container) if name == "gateway" else _rasa_health(container))
    finally:
        run([*BUILDAH, "rm", container], stdout=subprocess.DEVNULL)
    return results


def _gateway_health(container: str) -> str:
    """Start the gateway inside the image (SQLite, no channels) and run the image's health check."""
    script = ("DATABASE_URL=sqlite:////tmp/check.db GATEWAY_PORT=18765 READY_REQUIRES_RASA=false "
              "python -m api >/tmp/gateway.log 2>&1 & "
              "for i in $(seq 1 60); do HEALTHCHECK_URL=http://127.0.0.1:18765/health/ready "
              "python /app/deploy/healthcheck.py && exit 0; sleep 1; done; cat /tmp/gateway.log; exit 1")
    run([*BUILDAH, "run", "--isolation", "chroot", container, "sh", "-c", script])
    return "health check passed (/health/ready) with the gateway started inside the image"


def _rasa_health(container: str) -> str:
    """Start Rasa inside the image on its baked model and run the image's health check."""
    script = ("RASA_TOKEN=image-check python -m rasa_auth.launch run --enable-api --port 18766 "
              "--model /app/models/current.tar.gz --endpoints endpoints.yml --credentials credentials.yml "
              ">/tmp/rasa.log 2>&1 & "
              "for i in $(seq 1 300); do HEALTHCHECK_URL=http://127.0.0.1:18766/ "
              "python /app/deploy/healthcheck.py && exec python -c \"$PARSE\"; sleep 1; done; "
              "tail -40 /tmp/rasa.log; exit 1")
    # One message through the model: the level the risk reading gives it.
    parse = ("import json, urllib.request; request = urllib.request.Request("
             "'http://127.0.0.1:18766/model/parse?token=image-check', data=json.dumps("
             "{'text': 'cứu em, chú ấy đang đập cửa phòng em'}).encode(), "
             "headers={'Content-Type': 'application/json'}); "
             "print('risk', json.load(urllib.request.urlopen(request, timeout=30))['risk']['level'])")
    output = run([*BUILDAH, "run", "--isolation", "chroot", "--env", f"PARSE={parse}", container, "sh", "-c", script],
                 capture_output=True).stdout.strip().splitlines()
    level = output[-1].split()[-1] if output else "none"
    return f"health check passed (GET /) with Rasa started inside the image; a cry for help read as {level}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(IMAGES))
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "image-build"))
    parser.add_argument("--rasa-model", choices=["train", "trained"], default="train",
                        help="train the model in the build, or take models/current.tar.gz (make train)")
    args = parser.parse_args()
    missing = [tool for tool in ("debootstrap", "buildah") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        print(f"needs root and {', '.join(missing) or 'nothing else'} (apt-get install debootstrap buildah)")
        return 2
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rootfs = debian_root(work)
    names = [args.only] if args.only else list(IMAGES)
    report = []
    for name in names:
        base = python_base(work, rootfs, IMAGES[name]["python"])
        build_args = {"MODEL_STAGE": args.rasa_model} if name == "rasa" else {}
        if build_args.get("MODEL_STAGE") == "trained" and not (ROOT / "models/current.tar.gz").exists():
            print("--rasa-model trained needs models/current.tar.gz: run make train first")
            return 2
        seconds, size = build(name, base, build_args)
        checks = check(name)
        report.append((name, seconds, size, checks))
    print("\nimage | build time | size | checks")
    for name, seconds, size, checks in report:
        print(f"{IMAGES[name]['tag']} | {seconds / 60:.1f} min | {size} | {'; '.join(checks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
