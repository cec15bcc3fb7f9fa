"""Sections of the access package that apps contribute without this app knowing their models.

An app (consents, disclosures, an integration) registers its section in ``AppConfig.ready()``:

    register_package_section(PackageSection(
        key="consents", order=20, anchor="consents", title=_("Consents and policy acceptances"),
        write=write_consents,
    ))

The package writes every section in ``order`` through one ``PackageWriter`` (``package_writers``):
``write(writer)`` puts its JSON members and its HTML; ``prepare(writer)``, run before anything is
written, may read what the section needs and leave it in ``writer.state`` for itself or another;
``toc(writer)`` names the section's entries in the page's table of contents when there is not just
one (``anchor``, ``title``). A section reads its records in chunks and runs a fixed number of
queries however many records the subject has.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PackageSection:
    key: str
    write: Callable[[object], None]
    order: int = 100
    anchor: str = ""
    title: str = ""
    prepare: Callable[[object], None] | None = None
    toc: Callable[[object], list[tuple[str, str]]] | None = None

    def contents(self, writer) -> list[tuple[str, str]]:
        if self.toc is not None:
            return self.toc(writer)
        return [(self.anchor, self.title)] if self.anchor else []


_sections: dict[str, PackageSection] = {}


def register_package_section(section: PackageSection) -> None:
    """Add (or, under the same key, replace) a section; registering twice changes nothing."""
    _sections[section.key] = section


def package_sections() -> list[PackageSection]:
    return sorted(_sections.values(), key=lambda section: (section.order, section.key))
