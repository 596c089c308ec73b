"""Provider client tests: every stubbed request is checked against the official API description."""

import pytest
import responses

from tests.support.openapi import check_calls

NOW = 1_700_000_000.0
TOKEN = "ghp_SECRETtoken1234567890abcdef"  # distinctive, so leaks are easy to spot


def clock() -> float:
    return NOW


@pytest.fixture
def mock_api():
    """A ``responses`` mock; at teardown every recorded call must match the OpenAPI subset
    (GitHub: method, path/query params and body; GitLab: path and hook body)."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps
        check_calls(rsps.calls)
