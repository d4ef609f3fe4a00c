"""`callback-dialer doctor` against a real Asterisk: a good set-up passes, and every check
fails (or warns, where warning is its verdict) in a set-up broken in its own way.

The broken set-ups change a private instance's files (dialplan, manager.conf, spool) and
reload it; each test puts back what it changed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asterisk_factory
import pytest
from asterisk_fixtures import REPO, AsteriskInstance

from dialer import cli
from dialer.storage.engine import make_engine
from dialer.storage.migrate import upgrade
from dialer.storage.numbering import import_numbering_file

pytestmark = pytest.mark.asterisk

SAMPLE_NUMBERING = REPO / "tests" / "data" / "numbering_sample.csv"
GOOD_AGENTS = '["1001", "1002"]'


@pytest.fixture(scope="module")
def pbx() -> Iterator[AsteriskInstance]:
    """A private instance: the broken set-ups change its configuration."""
    with asterisk_factory.running("doctor") as instance:
        yield instance


class Setup:
    """A configuration file, its database and its demo CRM in a test's own directory."""

    def __init__(self, directory: Path, pbx: AsteriskInstance) -> None:
        self.directory = directory
        self.pbx = pbx
        self.db = directory / "dialer.db"
        self.orders = directory / "orders.jsonl"
        self.orders.write_text("", encoding="utf-8")
        self.secret = pbx.secret
        self.user = pbx.username
        self.agents = GOOD_AGENTS
        self.crm = '[crm]\nkind = "demo"\norders = "orders.jsonl"\n'
        self.fake_bin = directory / "bin"
        self.fake_bin.mkdir()

    @property
    def asterisk_root(self) -> Path:
        """The host's view of the PBX's "/" (the chroot's root, or "/")."""
        return Path(str(self.pbx.directory).removesuffix(self.pbx.inner_directory) or "/")

    def migrate(self, imported_days_ago: int = 1) -> None:
        engine = make_engine(f"sqlite:///{self.db}")
        upgrade(engine)
        when = datetime.now(UTC) - timedelta(days=imported_days_ago)
        import_numbering_file(engine, SAMPLE_NUMBERING, now=when)

    def ntp(self, synchronised: str) -> None:
        """A ``timedatectl`` on PATH that reports ``synchronised`` (the host may have none)."""
        program = self.fake_bin / "timedatectl"
        program.write_text(f"#!/bin/sh\necho {synchronised}\n", encoding="utf-8")
        program.chmod(program.stat().st_mode | stat.S_IXUSR)

    def config(self, **ami: str) -> Path:
        lines = [f"port = {ami.pop('port', self.pbx.ami_port)}", 'secret_env = "DOCTOR_SECRET"']
        lines += [f'user = "{self.user}"'] + [f'{k} = "{v}"' for k, v in ami.items()]
        text = (
            f'[service]\ndb_url = "sqlite:///{self.db}"\n'
            f"[campaign]\nagents = {self.agents}\n"
            'agent_channel_template = "Local/{agent}@dialer-test-agents"\n'
            f"{self.crm}[ami]\n" + "\n".join(lines) + "\n"
        )
        path = self.directory / "dialer.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def env(self) -> dict[str, str]:
        path = f"{self.fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"
        return {"DOCTOR_SECRET": self.secret, "PATH": path}


@pytest.fixture
def setup(
    tmp_path: Path, pbx: AsteriskInstance, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    made = Setup(tmp_path, pbx)
    made.migrate()
    made.ntp("yes")
    yield made
    monkeypatch.undo()


def doctor(
    setup: Setup,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
    **ami: str,
) -> tuple[int, dict[str, dict[str, str]]]:
    """Runs ``doctor --json`` as a user would; the findings by check name."""
    config = setup.config(**ami)
    for name, value in setup.env().items():
        monkeypatch.setenv(name, value)
    argv = ["doctor", "--config", str(config), "--json", "--events-wait", "3"]
    argv += ["--asterisk-root", str(setup.asterisk_root), *extra]
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 2 or not err, err
    found = {f["check"]: f for f in json.loads(out)} if code != 2 else {}
    return code, found


def statuses(found: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: f["status"] for name, f in found.items()}


@pytest.fixture
def reload(pbx: AsteriskInstance) -> Iterator[list[tuple[Path, str, str]]]:
    """Files a test changed, with their text before and the CLI command that reloads them;
    put back (and reloaded) after the test."""
    changed: list[tuple[Path, str, str]] = []
    yield changed
    for path, before, command in reversed(changed):
        rewrite(path, before)
        pbx.cli(command)


def rewrite(path: Path, text: str) -> None:
    """Asterisk skips a reload when a file's modification time looks unchanged (it keeps
    whole seconds): a rewrite within the second of the last one is moved a second later."""
    before = path.stat().st_mtime
    path.write_text(text, encoding="utf-8")
    later = max(time.time(), before + 1.5)
    os.utime(path, (later, later))


def change(
    changed: list[tuple[Path, str, str]],
    pbx: AsteriskInstance,
    name: str,
    old: str,
    new: str,
    *,
    command: str,
) -> None:
    path = pbx.directory / "etc" / name
    before = path.read_text(encoding="utf-8")
    assert old in before
    changed.append((path, before, command))
    rewrite(path, before.replace(old, new))
    pbx.cli(command)


# ---- the good set-up -------------------------------------------------------------------


def test_a_good_set_up_passes_every_check(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 0, found
    assert statuses(found) == {name: "OK" for name in found}, found
    assert "DIALER_ATTEMPT" in found["channelvars"]["found"]


def test_the_plain_output_is_one_line_per_check_with_its_status(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup.config()
    for name, value in setup.env().items():
        monkeypatch.setenv(name, value)
    code = cli.main(["doctor", "--config", str(config), "--skip", "crm"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert len(lines) == 14
    assert lines[0].startswith("OK    ami-reachable: ")
    assert "SKIP  crm: skipped (--skip)" in lines


# ---- AMI -------------------------------------------------------------------------------


def test_nothing_listening_fails_ami_reachable_and_skips_the_other_pbx_checks(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from local_services import free_port  # noqa: PLC0415

    code, found = doctor(setup, monkeypatch, capsys, port=str(free_port()))
    assert code == 1, found
    assert found["ami-reachable"]["status"] == "FAIL"
    assert "[ami] host/port" in found["ami-reachable"]["fix"]
    assert found["dialplan-context"]["status"] == "SKIP"
    assert found["database"]["status"] == "OK"


def test_a_wrong_secret_fails_the_login_with_the_fix(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.secret = "wrong-" + uuid.uuid4().hex
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    assert found["ami-reachable"]["status"] == "OK"
    login = found["ami-login"]
    assert login["status"] == "FAIL"
    assert "Authentication failed" in login["found"]
    assert "secret" in login["fix"]
    assert found["ami-privileges"]["status"] == "SKIP"


def _add_manager_user(
    reload: list[tuple[Path, str, str]], pbx: AsteriskInstance, setup: Setup, rights: str
) -> None:
    user = "doctor" + uuid.uuid4().hex[:8]
    section = f"\n[{user}]\nsecret = {setup.secret}\npermit = 127.0.0.1/255.255.255.255\n{rights}\n"
    change(
        reload, pbx, "manager.conf", "[general]", f"{section}\n[general]", command="manager reload"
    )
    setup.user = user


def test_an_over_privileged_user_is_a_warning_naming_the_classes(
    setup: Setup,
    pbx: AsteriskInstance,
    reload: list[tuple[Path, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_manager_user(reload, pbx, setup, "read = all\nwrite = all")
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 0, found  # warnings allowed
    privileges = found["ami-privileges"]
    assert privileges["status"] == "WARN"
    assert "system, command, config" in privileges["found"]
    assert "write = originate,call,reporting" in privileges["fix"]


def test_a_user_that_may_not_originate_fails_the_privileges(
    setup: Setup,
    pbx: AsteriskInstance,
    reload: list[tuple[Path, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_manager_user(reload, pbx, setup, "read = system,call,user\nwrite = call,reporting")
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    assert found["ami-privileges"]["status"] == "FAIL"
    assert "Originate" in found["ami-privileges"]["found"]
    assert found["channelvars"]["status"] == "SKIP"  # no probe without Originate


def test_a_user_that_reads_no_events_fails_the_events_check(
    setup: Setup,
    pbx: AsteriskInstance,
    reload: list[tuple[Path, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_manager_user(reload, pbx, setup, "read = dtmf\nwrite = originate,call,reporting")
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    assert found["ami-events"]["status"] == "FAIL"
    assert "no event arrived" in found["ami-events"]["found"]


def test_a_user_that_reads_no_call_events_fails_the_events_check(
    setup: Setup,
    pbx: AsteriskInstance,
    reload: list[tuple[Path, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add_manager_user(reload, pbx, setup, "read = system,user\nwrite = originate,call,reporting")
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    assert found["ami-events"]["status"] == "FAIL"
    assert "cannot read call" in found["ami-events"]["found"]


def test_a_missing_dialer_agent_context_fails_with_the_fix(
    setup: Setup,
    pbx: AsteriskInstance,
    reload: list[tuple[Path, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    change(
        reload,
        pbx,
        "extensions-dialer.conf",
        "[dialer-agent]",
        "[dialer-agent-gone]",
        command="dialplan reload",
    )
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    context = found["dialplan-context"]
    assert context["status"] == "FAIL"
    assert "no context 'dialer-agent'" in context["found"]
    assert "extensions.conf" in context["fix"]


def test_a_missing_channelvars_entry_fails_naming_the_variable(
    setup: Setup,
    pbx: AsteriskInstance,
    reload: list[tuple[Path, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    change(
        reload,
        pbx,
        "manager.conf",
        "DIALER_ATTEMPT,DIALER_STAGE,",
        "DIALER_ATTEMPT,",
        command="manager reload",
    )
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    assert found["channelvars"]["status"] == "FAIL"
    assert found["channelvars"]["found"].endswith("DIALER_STAGE")


def test_an_agent_whose_device_asterisk_does_not_know_fails(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.agents = '["1001", "77"]'  # the test agents' patterns have four digits
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    devices = found["agent-devices"]
    assert devices["status"] == "FAIL"
    assert "Local/77@dialer-test-agents" in devices["found"]
    assert "1001" not in devices["found"]


def test_missing_russian_prompts_fail_when_the_sounds_are_on_this_host(
    setup: Setup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "pbx-root"  # a PBX file system with an empty Russian sound set
    (root / "usr/share/asterisk/sounds/ru/digits").mkdir(parents=True)
    (root / "usr/share/asterisk/sounds/ru/digits/1.gsm").write_bytes(b"")
    code, found = doctor(setup, monkeypatch, capsys, "--asterisk-root", str(root))
    assert code == 1, found
    prompts = found["prompts-ru"]
    assert prompts["status"] == "FAIL"
    assert "digits/0, digits/2" in prompts["found"]
    assert "digits/1," not in prompts["found"]


def test_prompts_not_on_this_host_are_a_warning_that_says_it_cannot_tell(
    setup: Setup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, found = doctor(setup, monkeypatch, capsys, "--asterisk-root", str(tmp_path / "no"))
    assert code == 0, found
    assert found["prompts-ru"]["status"] == "WARN"
    assert "cannot tell" in found["prompts-ru"]["found"]


def test_a_recordings_directory_that_cannot_be_made_fails(
    setup: Setup,
    pbx: AsteriskInstance,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monitor = pbx.directory / "spool" / "monitor"
    assert not monitor.exists()
    monitor.write_bytes(b"")  # a file where MixMonitor would make its directory
    try:
        code, found = doctor(setup, monkeypatch, capsys)
    finally:
        monitor.unlink()
    assert code == 1, found
    recordings = found["recordings-dir"]
    assert recordings["status"] == "FAIL"
    assert "spool/monitor" in recordings["found"]
    assert "not a directory" in recordings["found"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_read_only_recordings_directory_fails(
    setup: Setup,
    pbx: AsteriskInstance,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spool = pbx.directory / "spool"
    mode = spool.stat().st_mode
    spool.chmod(0o555)
    try:
        code, found = doctor(setup, monkeypatch, capsys)
    finally:
        spool.chmod(mode)
    assert code == 1, found
    assert "not writable" in found["recordings-dir"]["found"]


# ---- database, CRM, numbering, host ----------------------------------------------------


def test_a_database_not_migrated_fails_with_db_upgrade(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.db = setup.directory / "empty.db"
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    assert found["database"]["status"] == "FAIL"
    assert "empty (no schema)" in found["database"]["found"]
    assert "db upgrade" in found["database"]["fix"]
    assert found["numbering-age"]["status"] == "SKIP"


def test_a_crm_that_does_not_answer_fails(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from local_services import free_port  # noqa: PLC0415

    url = f"http://127.0.0.1:{free_port()}"
    setup.crm = (
        f'[crm]\nkind = "http"\n[crm.http]\npull_url = "{url}/orders"\n'
        f'status_url = "{url}/orders/{{id}}"\noutcome_url = "{url}/outcomes"\n'
        'secret_env = "DOCTOR_SECRET"\n'
    )
    code, found = doctor(setup, monkeypatch, capsys, "--skip", "ami-events")
    assert code == 1, found
    crm = found["crm"]
    assert crm["status"] == "FAIL"
    assert "http CRM" in crm["found"]
    assert found["ami-events"]["status"] == "SKIP"


def test_an_old_numbering_table_is_a_warning(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.db.unlink()
    setup.migrate(imported_days_ago=100)
    code, found = doctor(setup, monkeypatch, capsys, "--numbering-max-age", "30")
    assert code == 0, found
    assert found["numbering-age"]["status"] == "WARN"
    assert "100 days ago (more than 30)" in found["numbering-age"]["found"]


def test_an_unsynchronised_clock_fails(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.ntp("no")
    code, found = doctor(setup, monkeypatch, capsys)
    assert code == 1, found
    assert found["clock-sync"]["status"] == "FAIL"
    assert "timedatectl set-ntp true" in found["clock-sync"]["fix"]


def test_time_zone_data_from_before_2024_fails(setup: Setup, tmp_path: Path) -> None:
    """Old data: Asia/Almaty still UTC+6 (a copy of Asia/Dhaka, +06 all year)."""
    zones = tmp_path / "zoneinfo"
    (zones / "Asia").mkdir(parents=True)
    dhaka = Path("/usr/share/zoneinfo/Asia/Dhaka")
    if not dhaka.is_file():
        pytest.skip("no system zoneinfo to build old data from")
    shutil.copy(dhaka, zones / "Asia" / "Almaty")
    env = {**os.environ, **setup.env(), "PYTHONTZPATH": str(zones)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dialer",
            "doctor",
            "--config",
            str(setup.config()),
            "--json",
            "--skip",
            "ami-reachable",
            "--skip",
            "ami-login",
            "--skip",
            "ami-privileges",
            "--skip",
            "ami-events",
            "--skip",
            "dialplan-context",
            "--skip",
            "prompts-ru",
            "--skip",
            "channelvars",
            "--skip",
            "agent-devices",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    found = {f["check"]: f for f in json.loads(done.stdout)}
    assert found["tzdata"]["status"] == "FAIL"
    assert "UTC+6" in found["tzdata"]["found"]
    assert found["ami-login"]["status"] == "SKIP"


# ---- arguments -------------------------------------------------------------------------


def test_an_unknown_skip_name_and_an_unloadable_config_exit_2_naming_them(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = doctor(setup, monkeypatch, capsys, "--skip", "ami-everything")
    assert code == 2
    bad = setup.config(port='"пять"')
    with pytest.raises(SystemExit) as exited:
        cli.main(["doctor", "--config", str(bad)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "ami.port" in err
