"""Production performance per ISO 22400-2: machine states, shift calendars, time model, KPIs.

Pure domain code (stdlib and zoneinfo only, no I/O): the MQTT consumer, tables and API build on
these entry points. See docs/performance.md for the formulas and the decisions behind them.
"""
