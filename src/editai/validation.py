"""Input rules shared by the domain services."""

from __future__ import annotations

from typing import Any

from editai.errors import BadUserInput

UNSET: Any = object()  # "field not given", as opposed to None ("clear it")


def clean_name(name: str | None, *, what: str, max_length: int) -> str:
    """Collapse inner whitespace; 1..max_length characters remain or BAD_USER_INPUT."""
    cleaned = " ".join((name or "").split())
    if not 1 <= len(cleaned) <= max_length:
        raise BadUserInput(f"{what} name must be 1 to {max_length} characters", field="name")
    return cleaned


def clean_description(description: str | None, *, max_length: int) -> str | None:
    if description is None:
        return None
    if len(description) > max_length:
        raise BadUserInput(
            f"Description must be at most {max_length} characters", field="description"
        )
    return description.strip() or None
