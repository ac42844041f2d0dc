"""The tasks of an organisation scan, run by a Dask worker or a local pool process alike.

Each is a pure function of its arguments (the repository, the settings, blob ids): run twice, it gives the
same answer, so Dask may run again the tasks of a worker that died. The only thing written is the mirror
cache, which a rerun reuses. Secret values are dropped before a result leaves the worker (results cross the
network and may be spilled to a worker's disk) unless the scan keeps them (--verify).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from keyguard.matching import Hit, Tally
from keyguard.model import Skipped, raised
from keyguard.placing import Placed, attribute, place
from keyguard.sources import history
from keyguard.sources.git_history import HistorySource
from keyguard.sources.gitrepo import GitError
from keyguard.sources.repos import Repository, Unreachable, open_repository
from keyguard.work import match_unit, unit_failed

_OBJECT = re.compile(r"\b(?:object ([0-9a-f]{40})|blob ([0-9a-f]{12}))\b")


@dataclass(frozen=True)
class TaskSettings:
    include_examples: bool = False
    engine: str = "auto"
    images: bool = True
    exclude: tuple[str, ...] = ()
    include_deps: bool = False
    keep_values: bool = False
    slice_blobs: int = 5000  # a repository with more new blobs than this is split into tasks of this many
    record: bool = False  # --since-last: hand back the ids of the blobs read


@dataclass
class Outcome:
    """What reading (part of) one repository gave, and the ids of the blobs read whole (TaskSettings.record)."""

    tally: Tally = field(default_factory=Tally)
    scanned: list[str] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.tally.add(other.tally)
        self.scanned += other.scanned


@dataclass
class Plan:
    """A repository listed: done here when small (`placed`), else `slices` of blobs for further tasks."""

    problem: str | None = None  # unreachable: why
    listed: int = 0
    outcome: Outcome = field(default_factory=Outcome)
    slices: list[list[history.Blob]] = field(default_factory=list)
    placed: list[Placed] = field(default_factory=list)
    notes: list[Skipped] = field(default_factory=list)


def _shown(skipped: list[Skipped], path: str, repo: Repository) -> list[Skipped]:
    """A mirror's cache path replaced by the repository's label."""
    if path == repo.label:
        return skipped
    return [Skipped(item.path.replace(path, repo.label), item.reason.replace(path, repo.label)) for item in skipped]


def _read(repo: Repository, path: str, unit: list[history.Blob], settings: TaskSettings) -> Outcome:
    source = HistorySource(path, exclude=settings.exclude, include_deps=settings.include_deps)
    tally = match_unit(source, unit, settings.include_examples, settings.engine, settings.images)
    if not settings.keep_values:
        tally.hits = [replace(hit, match=replace(hit.match, value=None)) for hit in tally.hits]
    tally.skipped = _shown(tally.skipped, path, repo)
    scanned: list[str] = []
    if settings.record and not unit_failed(tally, unit):
        unread = {oid for item in tally.skipped for found in _OBJECT.findall(item.path) for oid in found if oid}
        scanned = [blob.oid for blob in unit if blob.oid not in unread and blob.oid[:12] not in unread]
    return Outcome(tally, scanned)


def _attributed(repo: Repository, path: str, hits: list[Hit]) -> list[Placed]:
    placed = attribute(path, hits, repo.label)
    if not repo.url:
        return placed
    # every object of a repository fetched from a URL is on that server: pushed, however the mirror's refs look
    return [(m, replace(loc, exposure="pushed", severity=raised(m.severity))) for m, loc in placed]


def plan_repository(repo: Repository, settings: TaskSettings, seen: frozenset[str] = frozenset()) -> Plan:
    """Opens (fetches) the repository and lists its blobs not in `seen`; reads them here when they fit one slice."""
    try:
        path, notes = open_repository(repo, fetch=True)
        source = HistorySource(path, exclude=settings.exclude, include_deps=settings.include_deps, seen=seen)
        skipped = [Skipped(repo.label, note) for note in notes + history.repository_problems(path)]
        blobs = [blob for unit in source.units(skipped) for blob in unit]
    except Unreachable as error:
        return Plan(problem=str(error))
    except GitError as error:
        return Plan(problem=f"git history unreadable: {error}")
    plan = Plan(listed=source.listed, notes=_shown(skipped, path, repo))
    size = max(1, settings.slice_blobs)
    if len(blobs) > size:
        plan.slices = [blobs[start : start + size] for start in range(0, len(blobs), size)]
        return plan
    if blobs:
        plan.outcome = _read(repo, path, blobs, settings)
        plan.placed = _attributed(repo, path, plan.outcome.tally.hits)
    return plan


def scan_slice(repo: Repository, blobs: list[history.Blob], settings: TaskSettings) -> Outcome:
    """One slice of a large repository's blobs, read and matched."""
    try:
        path, _ = open_repository(repo, fetch=False)
    except Unreachable as error:
        return Outcome(Tally(skipped=[Skipped(repo.label, f"{len(blobs)} blobs not read: {error}")]))
    return _read(repo, path, blobs, settings)


def attribute_hits(repo: Repository, hits: list[Hit]) -> list[Placed]:
    """The commits that brought a sliced repository's hits, asked of git once for all its slices."""
    try:
        path, _ = open_repository(repo, fetch=False)
    except Unreachable:
        return unattributed(repo, hits)
    return _attributed(repo, path, hits)


def unattributed(repo: Repository, hits: list[Hit]) -> list[Placed]:
    """Hits placed without asking git (the repository cannot be opened here): no commit, no author."""
    return [(m, replace(loc, path=f"{repo.label}/{loc.path}")) for m, loc in map(place, hits)]
