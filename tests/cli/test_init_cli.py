"""`callback-dialer init` (issue 20): a starter config per CRM kind that the real loader loads,
with its secrets only as ``*_env`` references."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cli_run import run

from crm_adapter.config import KINDS
from dialer.commands.init_config import secret_variables
from dialer.config.campaign import ConfigError
from dialer.config.service import load_service_config

SECRET_WORDS = {"secret", "password", "api_key", "token", "key", "url_password"}


def init(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str) -> Path:
    target = tmp_path / f"{kind}.toml"
    code, out, err = run(capsys, "init", "--crm", kind, "--out", str(target))
    assert (code, err) == (0, ""), err
    assert f"wrote {target}" in out
    return target


def keys(table: Mapping[str, Any], where: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            found += keys(value, f"{where}{key}.")
        else:
            found.append((f"{where}{key}", value))
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_the_starter_loads_with_the_service_loader_once_its_variables_are_set(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    path = init(capsys, tmp_path, kind)
    variables = secret_variables(path.read_text(encoding="utf-8"))
    assert "CALLBACK_DIALER_AMI_SECRET" in variables
    environ = {name: f"секрет-{name}-0123456789abcdef" for name in variables}
    config = load_service_config(path, environ)
    assert config.crm.kind == kind
    assert config.ami.secret == environ["CALLBACK_DIALER_AMI_SECRET"]
    assert config.campaign.agent_channel_template == "PJSIP/{agent}"


@pytest.mark.parametrize("kind", KINDS)
def test_the_starter_holds_no_literal_secret_only_env_references(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    path = init(capsys, tmp_path, kind)
    text = path.read_text(encoding="utf-8")
    pairs = keys(tomllib.loads(text))
    literal = [k for k, _ in pairs if k.rsplit(".", 1)[-1] in SECRET_WORDS]
    assert literal == []
    references = [k for k, _ in pairs if k.endswith("_env")]
    assert len(references) == 2  # the CRM's secret and the AMI's
    urls = [v for _, v in pairs if isinstance(v, str) and "://" in v]
    assert urls and all(urlsplit(v).password is None for v in urls)
    for name in secret_variables(text):  # the header tells which variables to set
        assert f"#   {name}\n" in text


@pytest.mark.parametrize("kind", KINDS)
def test_without_its_variables_the_loader_names_the_missing_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    path = init(capsys, tmp_path, kind)
    with pytest.raises(ConfigError, match=r"_env: environment variable \w+ is not set"):
        load_service_config(path, {})


def test_the_written_file_is_not_world_readable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert init(capsys, tmp_path, "http").stat().st_mode & 0o777 == 0o640


def test_without_out_it_prints_the_starter_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "init", "--crm", "retailcrm")
    assert (code, err) == (0, "")
    assert tomllib.loads(out)["crm"]["kind"] == "retailcrm"
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_refused_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "service.toml"
    target.write_text("# mine\n", encoding="utf-8")
    code, out, err = run(capsys, "init", "--crm", "sql", "--out", str(target))
    assert (code, out) == (2, "")
    assert f"--out: {target} exists; --force overwrites it" in err
    assert target.read_text(encoding="utf-8") == "# mine\n"


def test_force_overwrites(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "НФ-00123.toml"
    target.write_text("# mine\n", encoding="utf-8")
    code, _, _ = run(capsys, "init", "--crm", "sql", "--out", str(target), "--force")
    assert code == 0
    assert tomllib.loads(target.read_text(encoding="utf-8"))["crm"]["kind"] == "sql"


def test_a_directory_as_out_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "init", "--crm", "http", "--out", str(tmp_path))
    assert code == 2
    assert f"--out: {tmp_path} is a directory" in err


@pytest.mark.parametrize("argv", [["init"], ["init", "--crm", "1c"], ["init", "--crm", "демо"]])
def test_a_missing_or_unknown_kind_exits_2_naming_crm(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert "--crm" in err
