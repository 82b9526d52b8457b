"""Issue 16: pydantic's "Value error, " prefix must not reach an API client's problem document."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from mes.api.problems import install_problem_handlers
from mes.reporting.schemas import StationTime


class Stamped(BaseModel):
    at: StationTime


def test_a_validator_message_reaches_the_client_as_written() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/stamped")
    def stamped(body: Stamped) -> dict[str, str]:
        return {"at": body.at.isoformat()}

    r = TestClient(app).post("/stamped", json={"at": "1999-12-31T23:00:00Z"})
    assert r.status_code == 422
    said = "must be between 2000-01-01 and 2100-01-01 (check the station clock)"
    assert r.json()["errors"] == [{"loc": "body.at", "msg": said}]
    assert r.json()["detail"] == f"body.at: {said}"
