"""The SQL edge's converter: domain objects to the values of a table's row, and rows back.

A row's keys are the domain fields' names (the tables were named after them), enums are stored
by value and datetimes as they are (`tables.UtcDateTime` refuses naive ones and reads UTC back).
Keys a class has no field for (`dedupe_key`, the event's counters) are ignored when reading.
"""

from __future__ import annotations

from typing import Any

from attrs import evolve
from cattrs import Converter
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from mov_adapters.serialization import configure_common
from mov_core.domain.enrollments import Enrollment, EnrollmentStatus, Occupancy


def make_sql_converter() -> Converter:
    """Rows are ours, so a failure is a bug to see plainly, not a report to collect: no
    detailed validation."""
    converter = Converter(detailed_validation=False)
    configure_common(converter)
    _configure_enrollments(converter)
    # an event's seat counts, as its row holds them (`events.enrolled_count`, `waitlist_count`)
    converter.register_structure_hook(
        Occupancy,
        make_dict_structure_fn(
            Occupancy,
            converter,
            enrolled=override(rename="enrolled_count"),
            waitlisted=override(rename="waitlist_count"),
        ),
    )
    return converter


def _configure_enrollments(converter: Converter) -> None:
    """An enrollment's place in line is never stored: it is computed on read (the `position`
    column of `ledger._WITH_POSITIONS`, or the caller's count), and only a waiter has one."""
    structure = make_dict_structure_fn(
        Enrollment, converter, waitlist_position=override(rename="position")
    )
    unstructure = make_dict_unstructure_fn(
        Enrollment, converter, waitlist_position=override(omit=True)
    )

    def enrollment(row: Any, _: type) -> Enrollment:  # noqa: ANN401 - cattrs hook signature
        found = structure(row, Enrollment)
        if found.status is EnrollmentStatus.WAITLISTED or found.waitlist_position is None:
            return found
        return evolve(found, waitlist_position=None)

    converter.register_structure_hook(Enrollment, enrollment)
    converter.register_unstructure_hook(Enrollment, unstructure)


ROWS = make_sql_converter()
"""The one SQL converter: its hooks are built once, at import."""
