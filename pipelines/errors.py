"""Bad-input errors and the ``on_error`` policy shared by every stage and library."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("pipelines")


class InputError(Exception):
    """A bad input file. ``str()`` is one line naming the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # survive the trip back from a worker process
        return (InputError, (self.path, self.reason))


class Skips:
    """Collects inputs dropped under ``on_error: skip``; raises under ``on_error: fail``."""

    def __init__(self, policy: str):
        self.policy = policy
        self.rows: list[dict] = []

    def handle(self, item: str, err: InputError) -> None:
        if self.policy == "fail":
            raise err
        log.warning("skipping %s: %s", item, err)
        self.rows.append({"item": item, "path": err.path, "reason": err.reason})

    def write(self, path: Path) -> None:
        """Write the skip manifest (always written, possibly empty)."""
        from .files import write_csv

        write_csv(path, self.rows, fieldnames=["item", "path", "reason"])
