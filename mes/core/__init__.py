"""The MES kernel: what every feature shares and nothing feature-specific.

Database engine (`db`), the clock (`clock`), errors (`errors`), the batch context of a
group-committed transaction (`batch`), append-only rows (`journal`) and the audit log (`audit`).
Imports nothing from the rest of `mes` (enforced by import-linter, see pyproject.toml).
"""
