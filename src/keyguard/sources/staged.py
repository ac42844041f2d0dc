"""What is staged for the next commit (a pre-commit hook) as a Source: the index's blobs."""

from __future__ import annotations

from collections.abc import Iterator

from keyguard.model import Blob, Provenance
from keyguard.sources.base import Source
from keyguard.sources.files import shown_path
from keyguard.sources.gitrepo import read_blobs, staged_blobs


class StagedSource(Source):
    def __init__(self, root: str) -> None:
        self.root = root

    def units(self, skipped: list) -> Iterator[list[tuple[str, str]]]:
        staged = staged_blobs(self.root)
        if staged:
            yield staged

    def blobs(self, unit: list[tuple[str, str]]) -> Iterator[Blob]:
        paths = {blob: path for path, blob in unit}
        for blob, content in read_blobs(self.root, list(paths)):
            yield Blob(Provenance("staged", shown_path(paths[blob]), "staged", blob=blob), data=content)
