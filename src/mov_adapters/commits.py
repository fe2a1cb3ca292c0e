"""What a unit of work wrote since its last commit, and what its commits made true: shared by
the memory and SQL units of work, which hand it to their `AfterCommit` once they are done."""

from __future__ import annotations

from collections.abc import Sequence

from mov_core.domain.changes import Change
from mov_core.domain.enrollments import Occupancy
from mov_core.ports.persistence import AfterCommit, Committed


async def _nowhere(_committed: Committed) -> None:
    return None


class CommitLog:
    """Pending writes become committed ones at `commit()` and vanish at a rollback."""

    def __init__(self, after_commit: AfterCommit | None = None) -> None:
        self.after_commit = after_commit or _nowhere
        self._changes: list[Change] = []
        self._seats: dict[int, Occupancy] = {}
        self._done_changes: list[Change] = []
        self._done_seats: dict[int, Occupancy] = {}

    def recorded(self, changes: Sequence[Change]) -> None:
        self._changes.extend(changes)

    def seats(self, event_id: int, seats: Occupancy) -> None:
        """The event's counts as a write left them (the latest write of the event wins)."""
        self._seats[event_id] = seats

    def committed(self) -> None:
        self._done_changes.extend(self._changes)
        self._done_seats.update(self._seats)
        self.rolled_back()

    def rolled_back(self) -> None:
        self._changes.clear()
        self._seats.clear()

    async def hand_over(self) -> None:
        """Give what was committed to `after_commit` (once: the log is empty afterwards)."""
        self.rolled_back()
        done = Committed(tuple(self._done_changes), dict(self._done_seats))
        self._done_changes.clear()
        self._done_seats.clear()
        if done:
            await self.after_commit(done)
