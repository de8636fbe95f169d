"""Input keys: keysets of pauses and the prefixes that messages are stored under."""

from __future__ import annotations

import uuid

from .models import Keyset, State

__all__ = [
    "Keyset",
    "default_key_prefix",
    "keyset_from_base_key",
    "keyset_from_paused_state",
    "new_key",
]


def keyset_from_base_key(base_key: str) -> Keyset:
    """Build the keyset of a pause whose keys start with `base_key`."""
    return {
        "description": f"{base_key}-description",
        "response": f"{base_key}-response",
        "schema": f"{base_key}-schema",
    }


def keyset_from_paused_state(state: State) -> Keyset:
    """Return the keyset of a Paused or Suspended state.

    The state's stored `run_input_keyset` wins, because a suspended run's keys
    carry a random pause key. Only a pause that stored no keyset (one that
    awaits no input) gets one built from the state name and pause key, the
    way Prefect names them.

    Raises:
        ValueError: the state is not a pause.
    """
    if not state.is_paused:
        raise ValueError(f"a {state.type} state is not a pause and has no keyset")
    stored = state.state_details.run_input_keyset
    if stored:
        return dict(stored)
    name = (state.name or "").lower()
    return keyset_from_base_key(f"{name}-{state.state_details.pause_key}")


def default_key_prefix(class_name: str) -> str:
    """Return the key prefix of a class's messages: `NumberData` → `numberdata-auto`."""
    return f"{class_name.lower()}-auto"


def new_key(key_prefix: str) -> str:
    """Make a new message key under `key_prefix`."""
    return f"{key_prefix}-{uuid.uuid4()}"
