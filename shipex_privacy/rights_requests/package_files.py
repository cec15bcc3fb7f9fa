"""Access-package files on disk: none without its row, none half-written, none readable by others.

A package is written under a temporary name (``….zip.part``) beside its final place and moved
there only once the transaction that records its row commits; a build that fails removes it. A
process killed mid-build can still leave a temporary file, and a file can outlive its row, so
``sweep_package_files`` (run daily: ``manage.py sweep_package_files``) removes files no row names
and temporary files older than a day. Files are created 0600 in folders of 0700: the subject's
full data is for the back office's own account only.

The same mechanism keeps other private files (a disclosure's export): ``stage_file`` takes the
storage and the name, and ``register_private_files`` adds a model whose ``file`` rows the daily
sweep checks its storage against.
"""

import functools
import os
import secrets
import stat
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from .models import AccessPackage

PART = ".part"
FILE_MODE, FOLDER_MODE = 0o600, 0o700
STALE_AFTER = timedelta(days=1)
SWEEP_BATCH = 500


# Models whose ``file`` field holds private files, each swept against its own storage.
_private_file_models: list = [AccessPackage]


def register_private_files(model) -> None:
    """Let the daily sweep remove files of ``model``'s storage that no row of it names (from ``ready()``)."""
    if model not in _private_file_models:
        _private_file_models.append(model)


def _storage(model=AccessPackage):
    return model._meta.get_field("file").storage


def _folder(relative: str, storage=None) -> Path:
    """The folder for ``relative`` (a storage name), created, with it and its parents up to the
    storage's root all 0700 — also when an older version created them more open."""
    folder = Path((storage or _storage()).location)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    for part in ("", *Path(relative).parent.parts):
        folder = folder / part
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) != FOLDER_MODE:  # the umask, or an older version
            folder.chmod(FOLDER_MODE)
    return folder


@dataclass
class StagedFile:
    """A package file being written: ``name`` is its final storage name, ``temp`` where it is now."""

    name: str
    temp: Path
    final: Path

    def open(self):
        """The temporary file, created 0600 (and never an existing file), for writing and reading back."""
        descriptor = os.open(self.temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.fchmod(descriptor, FILE_MODE)  # whatever the process's umask
        return os.fdopen(descriptor, "w+b")

    def place_on_commit(self) -> None:
        """Move the file into place once the row naming it is committed; until then it is a temp file."""
        transaction.on_commit(functools.partial(os.replace, self.temp, self.final))

    def discard(self) -> None:
        """Remove the temporary file (the build failed); a file already in place is never touched."""
        self.temp.unlink(missing_ok=True)


def stage(request_pk: int, built_at: datetime) -> StagedFile:
    return stage_file(_storage(), f"request-{request_pk}", built_at)


def stage_file(storage, stem: str, built_at: datetime, suffix: str = ".zip") -> StagedFile:
    """A new private file of ``storage`` named after ``stem`` (never personal data: the account id is
    itself catalogued); the token keeps two builds of one record from ever choosing the same name."""
    name = f"{timezone.localtime(built_at):%Y/%m}/{stem}-{secrets.token_hex(8)}{suffix}"
    final = _folder(name, storage) / Path(name).name
    return StagedFile(name=name, temp=final.with_name(final.name + PART), final=final)


@dataclass
class Sweep:
    orphans: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    kept: int = 0


def sweep_package_files(*, dry_run: bool = False, now: datetime | None = None) -> Sweep:
    """Remove package files that no row names and temporary files older than a day (names in the
    result, relative to the storage); ``dry_run`` only lists them. Rows are looked up in batches.
    Every registered model's storage is swept the same way (names of the others are prefixed with
    their storage's folder name)."""
    result = Sweep()
    for model in _private_file_models:
        _sweep(model, result, dry_run=dry_run, now=now, prefix="" if model is AccessPackage else None)
    return result


def _sweep(model, result: Sweep, *, dry_run: bool, now: datetime | None, prefix: str | None) -> None:
    root = Path(_storage(model).location)
    prefix = f"{root.name}/" if prefix is None else prefix
    cutoff = (now or timezone.now()).timestamp() - STALE_AFTER.total_seconds()
    batch = []

    def check(batch):
        named = set(model.objects.filter(file__in=[name for name, _path in batch])
                    .values_list("file", flat=True))
        for name, path in batch:
            if name in named:
                result.kept += 1
            else:
                result.orphans.append(prefix + name)
                if not dry_run:
                    path.unlink(missing_ok=True)

    if not root.is_dir():
        return
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        name = path.relative_to(root).as_posix()
        if name.endswith(PART):
            # A build still running has a young temporary file; one a day old was left by a killed one.
            if path.stat().st_mtime < cutoff:
                result.stale.append(prefix + name)
                if not dry_run:
                    path.unlink(missing_ok=True)
            continue
        batch.append((name, path))
        if len(batch) == SWEEP_BATCH:
            check(batch)
            batch = []
    if batch:
        check(batch)
