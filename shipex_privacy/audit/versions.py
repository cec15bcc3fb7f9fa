"""Versions for optimistic concurrency, shared by the admin's pages and the API's ETags.

A version is, for a record and each kind of row shown with it, the newest history row it was read
from ("subjects.datasubject:41;subjects.address:97"). History ids only grow, so a newer row in any
of them means somebody saved in between; no version column is needed.
"""

from dataclasses import dataclass

from django.db import models
from django.db.models import Max


@dataclass(frozen=True)
class VersionPart:
    """The history of one model on a page: the record itself, or the rows of one inline."""

    model: type[models.Model]
    filters: dict

    @property
    def key(self) -> str:
        return self.model._meta.label_lower

    def rows(self):
        return self.model.history.filter(**self.filters)

    def latest(self) -> int:
        return self.rows().aggregate(latest=Max("history_id"))["latest"] or 0


def parse_version(text: str) -> dict[str, int] | None:
    """``{"subjects.datasubject": 41, …}``; None when the text is not a version this project wrote."""
    version = {}
    for part in (text or "").split(";"):
        key, _sep, number = part.partition(":")
        if not key or not number.isascii() or not number.isdigit() or len(number) > 18:
            return None
        version[key] = int(number)
    return version


def format_version(parts: list[VersionPart]) -> str:
    return ";".join(f"{part.key}:{part.latest()}" for part in parts)
