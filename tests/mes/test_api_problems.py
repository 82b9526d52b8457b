"""Every error leaves as RFC 9457 problem+json, an unexpected one included (no bare 500)."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from mes.api.problems import Problem, install_problem_handlers


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("secret detail that must not leak")

    @app.get("/refused")
    def refused() -> None:
        raise Problem(401, "UNAUTHENTICATED", "no token", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/typed/{n}")
    def typed(n: int) -> int:
        return n

    return app


def test_unexpected_error_is_a_logged_problem() -> None:
    client = TestClient(make_app(), raise_server_exceptions=False)
    r = client.get("/bug")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "INTERNAL_ERROR"
    assert "secret" not in r.text


def test_problem_headers_and_validation_errors() -> None:
    client = TestClient(make_app())
    r = client.get("/refused")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.get("/typed/abc")
    assert r.status_code == 422
    assert r.json()["code"] == "INVALID_REQUEST"
    assert r.json()["errors"][0]["loc"] == "path.n"
    assert client.get("/nowhere").json()["code"] == "NOT_FOUND"
