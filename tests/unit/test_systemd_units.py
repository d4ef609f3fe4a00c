"""The packaged systemd units (issue 20): hardened, and valid for systemd itself.

``systemd-analyze verify`` (Debian package systemd) checks the unit as systemd would load it;
it prints a line for each unknown key or bad value, so the test wants it silent. The unit's
ExecStart is pointed at this environment's ``callback-dialer`` (verify wants an executable).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dialer.commands.asterisk_config import shipped_files

UNIT = "systemd/callback-dialer@.service"
SYSUSERS = "systemd/callback-dialer.conf"
SHIPPED_EXEC = "/opt/callback-dialer/.venv/bin/callback-dialer"
HARDENING = {
    "User": "callback-dialer",
    "Group": "callback-dialer",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
}


def shipped(name: str) -> str:
    return next(f.data for f in shipped_files() if f.name == name).decode("utf-8")


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """Section → key → values, as systemd reads a unit (repeated keys accumulate)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_unit_runs_the_node_as_a_dedicated_user_with_hardening() -> None:
    service = directives(shipped(UNIT))["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], key
    assert service["ReadWritePaths"] == ["/var/lib/callback-dialer /var/log/callback-dialer"]
    assert service["ExecStart"] == [
        f"{SHIPPED_EXEC} run --config /etc/callback-dialer/%i.toml --node %i"
    ]
    assert service["EnvironmentFile"] == ["/etc/callback-dialer/%i.env"]
    assert service["Restart"] == ["always"]


def test_the_unit_has_its_sections() -> None:
    sections = directives(shipped(UNIT))
    assert set(sections) == {"Unit", "Service", "Install"}
    assert sections["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_sysusers_line_makes_the_units_user() -> None:
    lines = [x for x in shipped(SYSUSERS).splitlines() if x and not x.startswith("#")]
    assert len(lines) == 1
    kind, name, *_ = lines[0].split()
    assert (kind, name) == ("u", "callback-dialer")


def analyze(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    here = Path(sys.executable).parent / "callback-dialer"
    assert here.exists(), here
    unit = tmp_path / "callback-dialer@.service"
    unit.write_text(text.replace(SHIPPED_EXEC, str(here)), encoding="utf-8")
    return subprocess.run(
        [tool, "verify", str(tmp_path / "callback-dialer@n1.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


def test_systemd_analyze_verify_finds_nothing_to_say_about_the_unit(tmp_path: Path) -> None:
    done = analyze(tmp_path, shipped(UNIT))
    assert done.returncode == 0, done.stderr
    mentions = [x for x in (done.stdout + done.stderr).splitlines() if "callback-dialer@" in x]
    assert mentions == []


def test_systemd_analyze_verify_would_name_a_mistyped_key(tmp_path: Path) -> None:
    done = analyze(tmp_path, shipped(UNIT).replace("ProtectHome=", "ProtectHomes="))
    assert "Unknown key 'ProtectHomes'" in done.stderr
