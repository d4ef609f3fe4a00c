"""`callback-dialer crm check` against a RetailCRM account (issue 17 §1).

The double serves the references in the shapes of api-client-php's
``tests/src/ResourceGroup/ReferencesTest.php`` (statuses, status groups, order methods,
sites) and ``CustomFieldsTest.php`` (the order custom fields, a dictionary); see
``retailcrm_fixtures``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from crm_servers import API_KEY, RetailCrmDouble
from retailcrm_fixtures import custom_field, site

from dialer.cli import main

Check = Callable[..., tuple[int, str, str]]


def _config(tmp_path: Path, url: str, extra: str = "", campaign: str = "") -> Path:
    path = tmp_path / "dialer.toml"
    path.write_text(
        f'{campaign}[crm]\nkind = "retailcrm"\n[crm.retailcrm]\nurl = "{url}"\n'
        'api_key_env = "TEST_RETAIL_KEY"\nsite = "shop"\nby = "externalId"\n' + extra,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def check(
    retail_crm: RetailCrmDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Check:  # fmt: skip
    monkeypatch.setenv("TEST_RETAIL_KEY", API_KEY)

    def run(extra: str = "", campaign: str = "", *flags: str) -> tuple[int, str, str]:
        path = _config(tmp_path, retail_crm.server.url, extra, campaign)
        code = main(["crm", "check", "--config", str(path), *flags])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_a_stock_account_with_the_default_configuration_passes(check: Check) -> None:
    code, out, err = check()
    assert (code, err) == (0, "")
    assert "retailcrm CRM reachable: 0 waiting order(s)" in out


def test_no_answer_into_the_cancel_group_is_refused_naming_the_key(check: Check) -> None:
    """Stock «Недозвон» ``no-call`` is in group ``cancel`` (ReferencesTest.php,
    testStatusGroups): after a first no-answer it would close the order."""
    code, _out, err = check('[crm.mapping.no_answer]\nstatus = "no-call"\n')
    assert code == 2
    assert "error: crm.mapping.no_answer.status: 'no-call' «Недозвон» is in group 'cancel'" in err


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("Согласовано с клиентом", "'Согласовано с клиентом' is the name of status 'client-con"),
        ("approved", "'approved' is not a status code of the account (codes: "),
    ],
)
def test_a_status_the_account_lacks_is_refused_naming_the_key(
    check: Check, status: str, said: str
) -> None:
    code, _out, err = check(f'[crm.mapping.confirmed]\nstatus = "{status}"\n')
    assert code == 2
    assert f"error: crm.mapping.confirmed.status: {said}" in err


def test_an_intake_status_the_account_lacks_is_refused(check: Check) -> None:
    code, _out, err = check(campaign='[campaign]\nintake_statuses = ["Новый"]\n')
    assert code == 2
    assert "campaign.intake_statuses[0]: 'Новый' is the name of status 'new'" in err


def test_a_missing_or_wrongly_typed_custom_field_is_refused_naming_the_key(
    check: Check, retail_crm: RetailCrmDouble
) -> None:
    retail_crm.custom_fields = [
        f for f in retail_crm.custom_fields if f["code"] not in ("call", "problem")
    ] + [custom_field("problem", "integer")]
    code, _out, err = check()
    assert code == 2
    assert (
        "crm.retailcrm.custom_fields.call: the account has no order custom field 'call': "
        "create one of type boolean"
    ) in err
    assert "crm.retailcrm.custom_fields.problem: field 'problem' is of type integer" in err


def test_a_mapped_problem_the_dictionary_lacks_is_refused(check: Check) -> None:
    code, _out, err = check('[crm.mapping.no_answer]\nproblem = "nobody-home"\n')
    assert code == 2
    assert "crm.mapping.no_answer.problem: 'nobody-home' is neither the code nor the name" in err


def test_an_excluded_source_must_be_an_order_method_code(check: Check) -> None:
    """api-client-php ReferencesTest.php testOrderMethods: methods are keyed by code."""
    code, _out, err = check(campaign='[campaign]\nexcluded_sources = ["Kaspi"]\n')
    assert code == 2
    assert "campaign.excluded_sources[0]: 'Kaspi' is not an orderMethod code" in err
    assert "it is the name of 'kaspi', write the code" in err
    assert check(campaign='[campaign]\nexcluded_sources = ["kaspi"]\n')[0] == 0


def test_site_is_required_where_the_key_sees_several_shops(
    check: Check, retail_crm: RetailCrmDouble, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    retail_crm.sites["outlet"] = site("outlet", 2)
    path = tmp_path / "nosite.toml"
    assert check()[0] == 0  # site = "shop" is set
    text = _config(tmp_path, retail_crm.server.url).read_text(encoding="utf-8")
    path.write_text(text.replace('site = "shop"\n', ""), encoding="utf-8")
    assert main(["crm", "check", "--config", str(path)]) == 2
    assert "error: crm.retailcrm.site: required: this key sees 2 shops (shop, outlet)" in (
        capsys.readouterr().err
    )


def test_without_status_groups_the_statuses_own_group_is_used(
    check: Check, retail_crm: RetailCrmDouble
) -> None:
    retail_crm.status_groups = None  # answers 404 "API method not found"
    code, _out, err = check('[crm.mapping.callback]\nstatus = "cancel-other"\n')
    assert code == 2
    assert "crm.mapping.callback.status: 'cancel-other' «Отменен» is in group 'cancel'" in err


def test_an_unknown_account_exits_1_saying_so(check: Check, retail_crm: RetailCrmDouble) -> None:
    retail_crm.no_account = True
    code, _out, err = check()
    assert code == 1
    assert "account does not exist (check crm.retailcrm.url)" in err


def test_suggest_builds_a_mapping_from_the_accounts_statuses_that_then_passes(
    check: Check, retail_crm: RetailCrmDouble
) -> None:
    retail_crm.statuses["dict-statuses-1"] = {
        "name": "Перезвонить", "code": "dict-statuses-1", "active": True, "ordering": 20,
        "group": "new",
    }  # fmt: skip
    code, out, _err = check("", "", "--suggest")
    assert code == 0
    suggested = tomllib.loads(out)
    mapping = suggested["crm"]["mapping"]
    assert suggested["campaign"]["intake_statuses"] == ["new"]
    assert mapping["confirmed"]["status"] == "client-confirmed"
    assert mapping["callback"]["status"] == "dict-statuses-1"
    assert mapping["no_answer"]["status"] == "new"  # «Недозвон» is a cancel status
    assert mapping["no_answer_final"]["status"] == "no-call"
    assert mapping["refused"]["status"] == "cancel-other"
    body = out.split("[crm.mapping", 1)[1]
    assert check("[crm.mapping" + body, '[campaign]\nintake_statuses = ["new"]\n')[0] == 0


def test_suggest_is_only_for_retailcrm(tmp_path: Path) -> None:
    path = tmp_path / "http.toml"
    path.write_text(
        '[crm]\nkind = "http"\n[crm.http]\npull_url = "http://127.0.0.1:9/o"\n'
        'status_url = "http://127.0.0.1:9/o/{id}"\noutcome_url = "http://127.0.0.1:9/x"\n'
        'secret_env = "TEST_HTTP_SECRET_X"\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exit_:
        main(["crm", "check", "--config", str(path), "--suggest"])
    assert exit_.value.code == 2
