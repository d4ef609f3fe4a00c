"""The whole service works with only the least-privilege AMI user shipped in
dialer/asterisk_files/manager.conf, and no secret leaks into its logs, /healthz, the API or the
CLI's --json output.

The service harness starts Asterisk from the shipped manager.conf (scripts/asterisk-local
copies it and only renames the user and sets the secret); the service logs in as that user
and a call completes end to end.
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import REPO, AsteriskInstance, RawAmi
from cli_run import run
from service_harness import (
    SECRET,
    DialerDb,
    ServiceProcess,
    ShopDb,
    ShopOrder,
    get_json,
    wait_for,
    write_config,
)

from dialer.storage.migrate import open_database
from dialer.storage.tokens import SqlTokenStore

pytestmark = pytest.mark.asterisk

SHIPPED = REPO / "dialer" / "asterisk_files" / "manager.conf"
ANSWERS = ShopOrder("7001", "+79165830221", "Татьяна", "AlcoBlocker", minutes_ago=3)
# Actions that run shell commands, read or rewrite configuration, reload or write AstDB.
DANGEROUS = {"command", "getconfig", "getconfigjson", "updateconfig", "createconfig",
             "listcategories", "agi", "reload", "moduleload", "modulecheck",
             "dbput", "dbdel", "dbdeltree", "userevent"}  # fmt: skip
NEEDED = {"originate", "coreshowchannels", "dbget", "redirect", "ping", "devicestatelist"}


def user_section(text: str, user: str) -> dict[str, str]:
    """The ``read``/``write``/``permit``/``deny`` lines of one manager.conf user."""
    section = re.search(rf"^\[{re.escape(user)}\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert section is not None, user
    lines = [line.split(";")[0].strip() for line in section[1].splitlines()]
    pairs = [line.split("=", 1) for line in lines if "=" in line]
    return {k.strip(): v.strip() for k, v in pairs if k.strip() != "secret"}


def test_the_instance_runs_exactly_the_shipped_ami_classes(asterisk: AsteriskInstance) -> None:
    shipped = user_section(SHIPPED.read_text(encoding="utf-8"), "dialer")
    running = (asterisk.directory / "etc" / "manager.conf").read_text(encoding="utf-8")
    assert user_section(running, asterisk.username) == shipped
    assert shipped["read"] == "system,call,user"
    assert shipped["write"] == "originate,call,reporting"


async def test_the_user_may_call_only_the_actions_the_dialer_needs(ami_lines: RawAmi) -> None:
    """Asterisk's ListCommands lists the actions this user's write classes allow."""
    reply = await ami_lines.action({"Action": "ListCommands"})
    allowed = {key.lower() for key in reply} - {"response", "actionid", "message"}
    assert allowed >= NEEDED, NEEDED - allowed
    assert allowed.isdisjoint(DANGEROUS), allowed & DANGEROUS


def test_a_call_completes_under_the_least_privilege_user_and_no_secret_leaks(
    asterisk: AsteriskInstance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    shop.seed([ANSWERS], datetime.now(UTC))
    dialer = DialerDb(tmp_path / "dialer.db")
    token = SqlTokenStore(open_database(dialer.url)).create("ops", "ops", datetime.now(UTC))
    config = write_config(tmp_path, asterisk, shop)
    service = ServiceProcess(config, dialer.url, asterisk, "security")
    outputs: dict[str, str] = {}
    try:
        wait_for(lambda: outcome(dialer, ANSWERS.id) == "confirmed", 60, service)
        base = service.base_url()
        outputs["healthz"] = json.dumps(get_json(base + "/healthz"))
        for path in ("orders/7001", "campaign", "agents", "calls/live", "stats", "queue",
                     "outbox/dead", "openapi.json"):  # fmt: skip
            outputs[path] = api_get(base + "/api/v1/" + path, token)
        outputs["metrics"] = api_get(base + "/metrics", token)
        assert service.stop() == 0
    finally:
        service.ensure_gone()
    logged_on = f"Manager '{asterisk.username}' logged on from 127.0.0.1"
    assert logged_on in asterisk.full_log()
    outputs["log"] = service.new_log()
    outputs["stderr"] = service.output()
    for argv in (["campaign", "show", "--json"], ["orders", "show", "7001", "--json"],
                 ["agents", "list", "--json"], ["outbox", "dead", "--json"],
                 ["campaign", "list", "--json"]):  # fmt: skip
        code, out, err = run(capsys, "--db", dialer.url, *argv)
        assert code == 0, (argv, err)
        outputs[" ".join(argv)] = out + err
    assert '"confirmed"' in outputs["orders/7001"]  # the outputs are real, not errors
    secrets = {"AMI secret": asterisk.secret, "intake secret": SECRET, "API token": token}
    for where, text in outputs.items():
        for name, secret in secrets.items():
            assert secret not in text, f"{name} appears in {where}"
    assert asterisk.secret not in config.read_text(encoding="utf-8")  # only in the environment


def api_get(url: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        body: bytes = answer.read()
    return body.decode("utf-8")


def outcome(dialer: DialerDb, order_id: str) -> str | None:
    try:
        return dialer.order(order_id)[1]
    except AssertionError:  # not admitted yet
        return None
