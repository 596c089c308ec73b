import pytest
import responses

GITHUB_USER = {"login": "octocat", "id": 1, "type": "User"}
GITLAB_USER = {"id": 1, "username": "tanuki", "name": "Tanuki"}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def github_user(rsps):
    """GitHub's GET /user: 200 for ``good-token`` / ``new-token``, 401 otherwise."""

    def answer(request):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in {"ghp_good-token", "ghp_new-token"}:
            login = "octocat" if token == "ghp_good-token" else "hubot"
            return 200, {}, f'{{"login": "{login}", "id": 1}}'
        return 401, {}, '{"message": "Bad credentials", "status": "401"}'

    rsps.add_callback("GET", "https://api.github.com/user", callback=answer)
    return rsps
