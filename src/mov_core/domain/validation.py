"""A small collector so every rule of an input is checked and every failure reported at once."""

from __future__ import annotations

from attrs import define, field

from mov_core.domain.errors import FieldIssue, ValidationFailed


@define
class Issues:
    """Collects field failures; `raise_if_any` raises one `ValidationFailed` with all of them."""

    _items: list[FieldIssue] = field(factory=list)

    def add(self, field_name: str, message: str) -> None:
        self._items.append(FieldIssue(field_name, message))

    def text(self, field_name: str, value: str, *, min_len: int, max_len: int) -> str:
        """Trim `value` and check its length; returns the trimmed text."""
        trimmed = value.strip()
        if len(trimmed) < min_len:
            self.add(
                field_name,
                f"{field_name} is required"
                if min_len == 1
                else f"{field_name} must be at least {min_len} characters long",
            )
        elif len(trimmed) > max_len:
            self.add(field_name, f"{field_name} must be at most {max_len} characters long")
        return trimmed

    def raise_if_any(self) -> None:
        if self._items:
            raise ValidationFailed(self._items)
