"""An organisation's repositories scanned as tasks (a repository, or slices of a large one's blobs).

Each repository is first listed (and, when small, read and attributed) by one task; a large one's blobs go
out again in slices, and its hits come back to one attribution task. Results are taken as they finish, so
the caller's progress moves with them. What a repository yields is kept per repository until all its tasks
are in: one lost for good (its task killed worker after worker) is reported under `skipped`, its blob ids
are not recorded for --since-last, and the other repositories go on.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from keyguard.cluster.runner import Runner
from keyguard.cluster.state import ScannedBlobs
from keyguard.cluster.tasks import (
    Outcome,
    Plan,
    TaskSettings,
    attribute_hits,
    plan_repository,
    scan_slice,
    unattributed,
)
from keyguard.matching import Tally
from keyguard.model import Skipped
from keyguard.placing import Placed
from keyguard.sources.repos import Repository

RepoProgress = Callable[[int, int], None]  # (repositories done, repositories in all)
IN_FLIGHT_PER_SLOT = 4  # repositories started ahead for each worker thread, so none waits for work


@dataclass
class _Repo:
    repo: Repository
    tasks: int = 0
    waiting: int = 0  # slices not yet back
    listed: int = 0
    outcome: Outcome = field(default_factory=Outcome)
    lost: str | None = None


@dataclass
class OrgScan:
    placed: list[Placed] = field(default_factory=list)  # attributed: one location a hit
    tally: Tally = field(default_factory=Tally)  # what was skipped and read (its hits are in `placed`)
    repositories: list[dict[str, Any]] = field(default_factory=list)
    cluster: dict[str, Any] = field(default_factory=dict)


def _why_lost(error: BaseException) -> str:
    name = type(error).__name__
    if name == "KilledWorker":
        return "its task was lost with every worker that ran it: not scanned"
    return f"its task failed: {name}: {error}"


class _OrgScanner:
    def __init__(self, runner: Runner, settings: TaskSettings, state: ScannedBlobs | None) -> None:
        self.runner = runner
        self.settings = settings
        self.state = state
        self.result = OrgScan()
        self.seen: dict[str, frozenset[str]] = {}

    def _submit(self, entry: _Repo, kind: str, function: Callable[..., Any], *args: Any) -> None:
        entry.tasks += 1
        self.runner.submit((kind, entry.repo.where), function, *args)

    def start(self, entry: _Repo) -> None:
        seen = self.state.load(entry.repo.label) if self.state else frozenset()
        self.seen[entry.repo.where] = seen
        self._submit(entry, "plan", plan_repository, entry.repo, self.settings, seen)

    def planned(self, entry: _Repo, plan: Plan) -> bool:
        """Takes a listing in; True when the repository is done."""
        if plan.problem is not None:
            self.result.tally.skipped.append(Skipped(entry.repo.label, f"unreachable: {plan.problem}"))
            entry.lost = "unreachable"
            return True
        entry.listed = plan.listed
        self.result.tally.skipped += plan.notes
        entry.outcome.add(plan.outcome)
        self.result.placed += plan.placed
        for blobs in plan.slices:
            self._submit(entry, "slice", scan_slice, entry.repo, blobs, self.settings)
        entry.waiting = len(plan.slices)
        return not plan.slices

    def sliced(self, entry: _Repo, outcome: Outcome) -> bool:
        entry.outcome.add(outcome)
        entry.waiting -= 1
        if entry.waiting:
            return False
        if not entry.outcome.tally.hits:
            return True
        self._submit(entry, "attribute", attribute_hits, entry.repo, entry.outcome.tally.hits)
        return False

    def finish(self, entry: _Repo) -> None:
        read = entry.outcome.tally
        self.result.tally.add(replace(read, hits=[], contents={}))  # its hits come back attributed
        status = "scanned" if entry.lost is None else entry.lost
        self.result.repositories.append(
            {
                "repository": entry.repo.label,
                "status": status,
                "blobs_listed": entry.listed,
                "blobs_scanned": read.files_scanned,
                "tasks": entry.tasks,
            }
        )
        seen = self.seen.pop(entry.repo.where)
        if self.state is not None and entry.lost is None:
            self.state.save(entry.repo.label, set(seen) | set(entry.outcome.scanned))


def scan_repositories(
    repos: list[Repository],
    settings: TaskSettings,
    runner: Runner,
    state: ScannedBlobs | None = None,
    progress: RepoProgress | None = None,
) -> OrgScan:
    """Every repository's history through `runner`; with `state`, only blobs it did not record, then recorded."""
    scanner = _OrgScanner(runner, settings, state)
    entries = {repo.where: _Repo(repo) for repo in repos}
    # a window of repositories in flight, not all: the client holds their --since-last ids, the scheduler their tasks
    waiting = iter(entries.values())
    for entry in itertools.islice(waiting, IN_FLIGHT_PER_SLOT * runner.slots()):
        scanner.start(entry)
    done = 0
    for (kind, where), result in runner.results():
        entry = entries[where]
        if entry.lost is not None:  # an earlier task of it failed: the rest is dropped with it
            continue
        if isinstance(result, BaseException):
            scanner.result.tally.skipped.append(Skipped(entry.repo.label, _why_lost(result)))
            scanner.result.placed += unattributed(entry.repo, entry.outcome.tally.hits)  # what its other slices found
            entry.lost = "lost"
            finished = True
        elif kind == "plan":
            finished = scanner.planned(entry, result)
        elif kind == "slice":
            finished = scanner.sliced(entry, result)
        else:
            scanner.result.placed += result
            finished = True
        if finished:
            scanner.finish(entry)
            if (following := next(waiting, None)) is not None:
                scanner.start(following)
            done += 1
            if progress:
                progress(done, len(entries))
    order = {repo.label: number for number, repo in enumerate(repos)}
    scanner.result.repositories.sort(key=lambda row: order[row["repository"]])
    scanner.result.cluster = {"scheduler": runner.address, "workers": runner.workers(), "tasks": runner.tasks}
    return scanner.result
