import cProfile, pstats, io, time, json
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.sync.test_webhooks import gh, gh_config, sign, payload  # noqa
from bench import intake_stack as st
from tests.fakes import gitrepo


def test_profile(client, gh_config, gh, django_capture_on_commit_callbacks):
    cfg = st.Config("app", "", gh_config.id, "Codertocat/Hello-World", gh_config.get_secret("webhook_secret_ciphertext"))
    gh.commit("Codertocat/Hello-World", {"a": b"x"}, branch="main")
    st.prepare_pushes(gh, cfg, 400)
    cfg.remote = "Codertocat/Hello-World"
    def one(i, did):
        body = st.push_body(cfg, i).replace(b"refs/heads/main", b"refs/heads/master")
        return client.post(f"/v1/sync-webhooks/github/{gh_config.id}", data=body, content_type="application/json",
            HTTP_X_GITHUB_EVENT="push", HTTP_X_GITHUB_DELIVERY=did, HTTP_X_HUB_SIGNATURE_256=st.sign(cfg.secret, body))
    for i in range(1, 21):
        one(i, f"w{i}")
    with CaptureQueriesContext(connection) as q:
        r = one(21, "x21")
    print(r.status_code, r.json())
    for x in q.captured_queries: print("  Q", x["sql"][:150])
    with CaptureQueriesContext(connection) as q:
        r = one(21, "x21")
    print(r.status_code, r.json())
    for x in q.captured_queries: print("  Q", x["sql"][:150])
    pr = cProfile.Profile()
    t = time.perf_counter()
    pr.enable()
    for i in range(22, 322):
        one(i, f"p{i}")
    pr.disable()
    print("per request ms", (time.perf_counter() - t) / 300 * 1e3)
    s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats("cumulative").print_stats(45); print(s.getvalue()[:9000])
