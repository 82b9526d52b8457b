"""The MES side of finite-capacity scheduling (issue 15): the adapter that builds a planning
`Problem` from the database and the plant file, the stored plans with their diffs, supervisor
locks and approvals, the planning service that replans when the floor changes, and its API.
`mes.scheduling` stays pure; everything with I/O is here (docs/scheduling.md)."""
