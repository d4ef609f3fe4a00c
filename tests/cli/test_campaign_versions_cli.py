"""`callback-dialer campaign create|update|export|import|history|rollback|archive` (issue 21):
the campaign's settings in the database, validated by the file's loader, every change a
version; bad input exits 2 naming the field and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run

from dialer.app.campaign_source import settings_from_json
from dialer.config.campaign import load_campaign
from dialer.storage.catalog import SqlCampaignCatalog
from dialer.storage.migrate import open_database

NAME = "Проект-1"
CAMPAIGN = f"""
[crm]
kind = "retailcrm"

[campaign]
name = "{NAME}"
agents = ["1001", "1002"]
ring_timeout_s = 20

[campaign.window]
start = "09:00"
end = "20:00"
holidays = ["2026-03-08"]
weekdays = ["mon", "tue", "wed", "thu", "fri"]
"""


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "olga")
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def campaign_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    return path


def catalog(url: str) -> SqlCampaignCatalog:
    return SqlCampaignCatalog(open_database(url))


def cli(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "--db", url, "campaign", *argv)


def test_import_then_export_reads_back_identically(
    url: str, campaign_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, url, "import", str(campaign_file))
    assert (code, out.strip()) == (0, f"campaign {NAME}: created from {campaign_file}, version 1")
    stored = settings_from_json(catalog(url).get(NAME).settings_json)
    assert stored == load_campaign(campaign_file)  # RetailCRM's defaults taken from [crm] kind
    exported = tmp_path / "exported.toml"
    assert cli(capsys, url, "export", NAME, "--out", str(exported))[0] == 0
    assert load_campaign(exported) == stored
    code, out, _ = cli(capsys, url, "import", str(exported))
    assert (code, out.strip()) == (0, f"campaign {NAME}: unchanged, version 1")
    code, printed, _ = cli(capsys, url, "export", NAME)
    assert code == 0 and printed == exported.read_text(encoding="utf-8")
    [version] = catalog(url).history(NAME)
    assert (version.author, version.note) == ("cli:olga", f"imported from {campaign_file}")


def test_update_sets_dotted_values_and_history_says_what_changed(
    url: str, campaign_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, url, "import", str(campaign_file))
    code, out, _ = cli(capsys, url, "update", NAME, "--set", "window.start=10:30",
                       "--set", "ring_timeout_s=25", "--set", 'agents=["1001"]',
                       "--note", "лето")  # fmt: skip
    assert (code, out.strip()) == (0, f"campaign {NAME}: version 2 (agents, ring_timeout_s, "
                                      "window.start)")  # fmt: skip
    got = settings_from_json(catalog(url).get(NAME).settings_json)
    assert (got.window.start.hour, got.window.start.minute) == (10, 30)
    assert (got.ring_timeout_s, got.agents, got.window.end.hour) == (25, ("1001",), 20)
    code, out, _ = cli(capsys, url, "history", NAME)
    newest, first = out.strip().splitlines()
    assert newest.startswith("v2\t") and "\tcli:olga\tchanged: agents, ring_timeout_s, " \
        "window.start\tлето" in newest  # fmt: skip
    assert first.startswith("v1\t") and "first version" in first
    rows = [
        json.loads(line) for line in cli(capsys, url, "history", NAME, "--json")[1].splitlines()
    ]
    assert [(r["version"], r["changed"]) for r in rows] == [
        (2, ["agents", "ring_timeout_s", "window.start"]), (1, None),
    ]  # fmt: skip


def test_bad_values_exit_2_naming_the_field_and_write_nothing(
    url: str, campaign_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, url, "import", str(campaign_file))
    for sets, named in [
        (["window.start=25:00"], "campaign.window.start"),
        (["ring_timeout_s=long"], "campaign.ring_timeout_s"),
        (["surprise=1"], "campaign.surprise"),
        (["window=5"], "campaign.window"),
        (["default_tz=Mars/Base"], "campaign.default_tz"),
        (["name=Другой"], "campaign.name"),
        (["ring_timeout_s.x=1"], "--set ring_timeout_s.x"),
        (["no-equals-sign"], "--set no-equals-sign"),
    ]:
        argv = [a for s in sets for a in ("--set", s)]
        code, _, err = cli(capsys, url, "update", NAME, *argv)
        assert (code, named in err) == (2, True), (sets, err)
    assert [v.version for v in catalog(url).history(NAME)] == [1]
    broken = tmp_path / "broken.toml"
    for text, named in [
        ("[campaign\n", "not valid TOML"),
        ("[service]\n", "no [campaign] or [campaigns.NAME] table"),
        (f'[campaign]\nname = "{NAME}"\n[campaign.window]\nstart = "7"\n', "window.start"),
    ]:
        broken.write_text(text, encoding="utf-8")
        code, _, err = cli(capsys, url, "import", str(broken))
        assert (code, named in err) == (2, True), (text, err)
    assert [v.version for v in catalog(url).history(NAME)] == [1]


def test_refusals_of_names_and_versions(
    url: str, campaign_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, url, "import", str(campaign_file))
    code, _, err = cli(capsys, url, "create", NAME, "--from", str(campaign_file))
    assert (code, "exists already" in err) == (2, True)
    assert cli(capsys, url, "create", "Б-2")[0] == 2  # neither --from nor --set
    for argv in (["update", "Нет", "--set", "ring_timeout_s=5"], ["history", "Нет"],
                 ["export", "Нет"], ["rollback", "Нет", "1"], ["archive", "Нет"]):  # fmt: skip
        code, _, err = cli(capsys, url, *argv)
        assert (code, "no campaign named 'Нет'" in err) == (2, True), argv
    code, _, err = cli(capsys, url, "rollback", NAME, "9")
    assert (code, "no version 9" in err) == (2, True)


def test_create_from_sets_rollback_and_archive(
    url: str, campaign_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, url, "create", "Б-2", "--set", "window.start=08:00",
                       "--set", "language=kk")  # fmt: skip
    assert (code, out.strip()) == (0, "campaign Б-2: created, version 1")
    assert settings_from_json(catalog(url).get("Б-2").settings_json).language == "kk"
    code, out, _ = cli(capsys, url, "create", "В-3", "--from", str(campaign_file),
                       "--set", "ring_timeout_s=40")  # fmt: skip
    assert code == 0
    made = settings_from_json(catalog(url).get("В-3").settings_json)
    assert (made.name, made.ring_timeout_s, made.agents) == ("В-3", 40, ("1001", "1002"))
    cli(capsys, url, "update", "Б-2", "--set", "window.start=11:00")
    code, out, _ = cli(capsys, url, "rollback", "Б-2", "1")
    assert (code, out.strip()) == (0, "campaign Б-2: version 3 = version 1's settings")
    back = settings_from_json(catalog(url).get("Б-2").settings_json)
    assert back.window.start.hour == 8
    assert catalog(url).history("Б-2")[0].note == "rollback to 1"
    assert cli(capsys, url, "archive", "Б-2")[1].strip() == "campaign Б-2: archived"
    listed = cli(capsys, url, "list")[1]
    assert "В-3\t" in listed and "Б-2" not in listed
    assert "Б-2\tarchived\tversion 3" in cli(capsys, url, "list", "--all")[1]
    assert cli(capsys, url, "archive", "Б-2", "--restore")[1].strip() == "campaign Б-2: active"


SEVERAL = """
[campaigns."Магазин"]
agents = ["1001", "1002"]
[campaigns."Магазин".window]
start = "09:00"
end = "13:00"

[campaigns.kz]
agents = ["1002"]
priority = 2
[campaigns.kz.window]
start = "14:00"
end = "18:00"
"""


def test_a_file_of_several_campaigns_imports_each_or_the_one_named(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "several.toml"
    path.write_text(SEVERAL, encoding="utf-8")
    code, out, _ = cli(capsys, url, "import", str(path), "--name", "kz")
    assert (code, out.strip()) == (0, f"campaign kz: created from {path}, version 1")
    assert [e.name for e in catalog(url).entries()] == ["kz"]
    code, out, _ = cli(capsys, url, "import", str(path))
    assert code == 0 and "campaign Магазин: created" in out and "campaign kz: unchanged" in out
    stored = settings_from_json(catalog(url).get("Магазин").settings_json)
    assert (stored.window.start.hour, stored.window.end.hour) == (9, 13)
    path.write_text(SEVERAL.replace('end = "18:00"', 'end = "25:00"'), encoding="utf-8")
    code, _, err = cli(capsys, url, "import", str(path))  # checked whole before any is saved
    assert code == 2 and "campaigns.kz.window.end" in err
    assert [v.version for v in catalog(url).history("Магазин")] == [1]
    code, _, err = cli(capsys, url, "import", str(path), "--name", "нет")
    assert code == 2 and "no [campaigns.нет] table" in err
    path.write_text(SEVERAL.replace('end = "13:00"', 'end = "12:00"'), encoding="utf-8")
    code, out, _ = cli(capsys, url, "update", "Магазин", "--from", str(path))
    assert code == 0 and "version 2" in out
