"""Host setup: apt packages, Java and Maven, system users, directories and ownership."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from pathlib import Path

from .layout import SHARED_BASE, Layout, is_root
from .output import StackError, say
from .processes import run_checked


def apt_install(packages: list[str]) -> None:
    """Install Debian packages (needs root)."""
    if not is_root():
        raise StackError(f"missing packages; as root run: apt-get install -y {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    say("apt", f"installing {' '.join(packages)}")
    run_checked(["apt-get", "update"], "apt-get update", env=env)
    run_checked(
        ["apt-get", "install", "-y", "--no-install-recommends", *packages],
        "apt-get install",
        env=env,
    )


def java_home() -> Path:
    """JAVA_HOME, or the JDK behind `java` on PATH (installing a JRE when there is none)."""
    if os.environ.get("JAVA_HOME") and Path(os.environ["JAVA_HOME"], "bin", "java").exists():
        return Path(os.environ["JAVA_HOME"])
    if shutil.which("java") is None:
        apt_install(["openjdk-17-jre-headless"])
    java = shutil.which("java")
    if java is None:
        raise StackError("no java found; set JAVA_HOME")
    return Path(java).resolve().parent.parent


def mvn() -> str:
    """Path of mvn (installing Maven from apt when missing)."""
    if shutil.which("mvn") is None:
        apt_install(["maven"])
    found = shutil.which("mvn")
    if found is None:
        raise StackError("mvn not found")
    return found


def ensure_system_user(name: str) -> None:
    """Create an unprivileged system user with a group of the same name if missing."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        say("setup", f"creating system user {name!r}")
        run_checked(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            f"useradd {name}",
        )


def chown_tree(path: Path, user: str | None) -> None:
    """Recursively chown path to user (no-op when not root)."""
    if user is None or not is_root():
        return
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs)]:
            os.lchown(name, pw.pw_uid, pw.pw_gid)
        for name in files:
            os.lchown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)


def safe_mkdir(path: Path, mode: int = 0o755) -> None:
    """mkdir -p with an explicit mode for the last component."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)


def ensure_service_root(lay: Layout) -> None:
    """Create the service root; as root, refuse one a local user could have planted."""
    if lay.svc_root == lay.stack:
        return
    chain = [SHARED_BASE] if lay.svc_root.parent == SHARED_BASE else []
    for d in [*chain, lay.svc_root]:
        if d.exists() or d.is_symlink():
            st = d.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
                raise StackError(f"{d} must be a root-owned directory not writable by others")
        else:
            safe_mkdir(d, 0o755)
    for sub in ("dist", "data"):
        safe_mkdir(lay.svc_root / sub, 0o755)
    link = lay.stack / "shared"
    if link.is_symlink() and Path(os.readlink(link)) != lay.svc_root:
        link.unlink()
    if not link.is_symlink():
        link.symlink_to(lay.svc_root)
