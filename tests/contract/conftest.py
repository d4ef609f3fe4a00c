"""Fixtures for the contract tests: the integration suite's real Asterisk (started only when a
test asks for it) for the telephony contract's AMI side."""

from __future__ import annotations

from local_services import integration_fixtures

_integration = integration_fixtures("contract_integration_conftest")
asterisk = _integration.asterisk  # a private Asterisk instance for this folder's session
ami_settings = _integration.ami_settings
