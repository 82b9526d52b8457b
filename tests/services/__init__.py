"""Real services for the test suite: each test session starts its own on free ports."""
