"""campaigns.redact: secrets out of URLs, headers, cookies and evidence; everything else kept."""

from __future__ import annotations

import json

import pytest

from campaigns.redact import (MASK, contains_secret, is_secret_name, redact, redact_cookie, redact_headers,
                              redact_text, redact_url)

SECRET = "s3cr3t-VALUE-42"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize("param", ["token", "access_token", "api_key", "apikey", "API-KEY", "key", "secret",
                                   "client_secret", "password", "sig", "signature", "auth", "X-Amz-Signature",
                                   "X-Amz-Credential", "refresh_token", "session_token", "jwt", "code"])
def test_token_like_query_parameters_are_masked(param):
    url = f"http://127.0.0.1:8101/api/orders?limit=5&{param}={SECRET}&page=2"
    out = redact_url(url)
    assert SECRET not in out and "limit=5" in out and "page=2" in out and out.startswith("http://127.0.0.1:8101/api/orders?")


def test_everything_that_is_not_secret_is_kept_exactly():
    for url in ("http://127.0.0.1:8101/api/products?limit=20", "https://h/a/b?course_code=CS-101&id=7#top",
                "http://[::1]:80/x", "/relative?q=1", ""):
        assert redact_url(url) == url


def test_fragments_userinfo_and_jwts_in_paths_are_masked():
    out = redact_url(f"https://user:{SECRET}@h/cb#access_token={SECRET}&state=ok")
    assert SECRET not in out and "user:" in out and "state=ok" in out
    assert JWT not in redact_url(f"http://h/reset/{JWT}/confirm")


def test_headers_keep_their_names_and_schemes():
    out = redact_headers({"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET, "Cookie": f"sid={SECRET}; theme=dark",
                          "Accept": "application/json", "X-Shop-Token": SECRET, "Location": f"/next?token={SECRET}"})
    assert out["Authorization"] == f"Bearer {MASK}" and out["X-Api-Key"] == MASK and out["X-Shop-Token"] == MASK
    assert out["Cookie"] == f"sid={MASK}; theme={MASK}" and out["Accept"] == "application/json"
    assert SECRET not in json.dumps(out)
    pairs = redact_headers([("Set-Cookie", f"sid={SECRET}; Path=/; HttpOnly"), ("Proxy-Authorization", f"Basic {SECRET}")])
    assert pairs == [("Set-Cookie", f"sid={MASK}; Path=/; HttpOnly"), ("Proxy-Authorization", f"Basic {MASK}")]
    assert redact_cookie(f"a={SECRET}") == f"a={MASK}"


def test_free_text_loses_tokens_but_keeps_its_meaning():
    text = (f"GET http://127.0.0.1/x?token={SECRET}, failed: 401 for Bearer {SECRET} ({JWT}); "
            f"password={SECRET} and {{\"api_key\": \"{SECRET}\"}}.")
    out = redact_text(text)
    assert not contains_secret(out, [SECRET, JWT])
    assert out.startswith("GET http://127.0.0.1/x?token=") and "failed: 401 for Bearer" in out and out.endswith(".")
    assert redact_text("status: 404, took 12 ms, Basic auth is off") == "status: 404, took 12 ms, Basic auth is off"


def test_any_json_like_value_is_walked():
    doc = {"url": f"http://h/?apikey={SECRET}", "headers": [["Authorization", f"Bearer {SECRET}"]],
           "evidence": [{"password": SECRET, "count": 3}, f"token={SECRET}"], "passed": True, "n": None}
    out = redact(doc)
    assert not contains_secret(json.dumps(out), [SECRET])
    assert out["evidence"][0]["count"] == 3 and out["passed"] is True and out["n"] is None


def test_names_that_are_secret():
    assert all(is_secret_name(n) for n in ("Authorization", "x-api-key", "DB_PASSWORD", "refreshToken", "Cookie"))
    assert not any(is_secret_name(n) for n in ("limit", "course_code", "page", "id", "Accept", "status"))


def test_contains_secret_finds_percent_encoded_values():
    assert contains_secret("a=s3cr3t%2Fx", ["s3cr3t/x"]) == ["s3cr3t/x"]
