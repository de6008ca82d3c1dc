"""Pydantic models of every request, response and event that crosses a service boundary."""
