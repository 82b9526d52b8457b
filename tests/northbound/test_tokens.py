"""Named, hashed tokens of the agent's write API: `shopfloor edge token NAME` and the check."""

import re

from typer.testing import CliRunner

from edge.northbound.tokens import CallerTokens, RefusalBudget, token_hash
from mes.cli import app


def test_token_command_prints_the_token_once_and_only_its_hash_for_the_plant_file() -> None:
    out = CliRunner().invoke(app, ["edge", "token", "scada"])
    assert out.exit_code == 0, out.output
    secret = re.search(r"^  (\S{40,})$", out.output, flags=re.M)
    digest = re.search(r"^      scada: ([0-9a-f]{64})$", out.output, flags=re.M)
    assert secret
    assert digest
    assert digest.group(1) == token_hash(secret.group(1))
    tokens = CallerTokens({"scada": digest.group(1)})
    assert tokens.identify(f"Bearer {secret.group(1)}") == "scada"
    bad = CliRunner().invoke(app, ["edge", "token", "a b"])
    assert bad.exit_code == 2


def test_each_caller_is_identified_by_its_own_token() -> None:
    tokens = CallerTokens({"mes": token_hash("t-mes"), "scada": token_hash("t-scada")}, "legacy")
    assert tokens.identify("Bearer t-mes") == "mes"
    assert tokens.identify("bearer t-scada") == "scada"
    assert tokens.identify("Bearer legacy") == "api_token"
    for wrong in ("Bearer t-me", "Bearer " + token_hash("t-mes"), "Basic t-mes", "", "t-mes"):
        assert tokens.identify(wrong) is None
    assert not CallerTokens({}).enabled


def test_a_flood_of_refused_attempts_is_counted_not_written_line_by_line() -> None:
    now = [0.0]
    budget = RefusalBudget(burst=3, per_minute=6, clock=lambda: now[0])
    assert [budget.take("10.0.0.9") for _ in range(5)] == [0, 0, 0, None, None]
    assert budget.take("10.0.0.7") == 0  # another address has its own budget
    now[0] += 10  # 6 per minute: one more after 10 s, carrying the count of the suppressed
    assert budget.take("10.0.0.9") == 2
    assert budget.take("10.0.0.9") is None
    now[0] += 3600  # refilled to the burst, not beyond
    assert [budget.take("10.0.0.9") for _ in range(4)] == [1, 0, 0, None]


def test_the_budget_remembers_a_bounded_number_of_addresses() -> None:
    budget = RefusalBudget(burst=1, per_minute=1, clock=lambda: 0.0, max_clients=2)
    for address in ("a", "b", "c"):
        assert budget.take(address) == 0
    assert budget.take("a") == 0  # forgotten (oldest), starts afresh
    assert budget.take("c") is None
