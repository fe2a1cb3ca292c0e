"""A small collector so every rule of an input is checked and every failure reported at once."""

from __future__ import annotations

from attrs import define, field

from mov_core.domain.errors import FieldIssue, ValidationFailed


def field_label(field_name: str) -> str:
    """`title` → `Title`, `firstName` → `FirstName`: how messages name a field (as the first
    MOV did, so existing clients see the same words)."""
    return field_name[:1].upper() + field_name[1:]


def has_control(text: str) -> bool:
    """Whether `text` holds a control character (C0, DEL, C1) or a Unicode line separator."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029" for c in text)


@define
class Issues:
    """Collects field failures; `raise_if_any` raises one `ValidationFailed` with all of them."""

    _items: list[FieldIssue] = field(factory=list)

    def add(self, field_name: str, message: str) -> None:
        self._items.append(FieldIssue(field_name, message))

    def text(self, field_name: str, value: str, *, min_len: int, max_len: int) -> str:
        """Trim `value` and check its length; returns the trimmed text."""
        trimmed = value.strip()
        label = field_label(field_name)
        if "\x00" in trimmed:
            self.add(field_name, f"{label} must not contain NUL characters")
        elif len(trimmed) < min_len:
            self.add(
                field_name,
                f"{label} is required"
                if min_len == 1
                else f"{label} must be at least {min_len} characters long",
            )
        elif len(trimmed) > max_len:
            self.add(field_name, f"{label} must be at most {max_len} characters long")
        return trimmed

    def line(self, field_name: str, value: str, *, min_len: int, max_len: int) -> str:
        """`text` for a one-line field (a name, a title): no control character at all (a CR
        or LF would forge lines in e-mail headers, calendars and logs)."""
        trimmed = self.text(field_name, value, min_len=min_len, max_len=max_len)
        if "\x00" not in trimmed and has_control(trimmed):
            self.add(field_name, f"{field_label(field_name)} must be a single line of text")
        return trimmed

    def raise_if_any(self) -> None:
        if self._items:
            raise ValidationFailed(self._items)
