"""Files and directories as a Source: every file the walk finds, once, in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from keyguard.model import Blob, Provenance, Skipped
from keyguard.sources.base import FileTarget, Source
from keyguard.sources.filesystem import walk

BATCH_BYTES = 4 * 1024 * 1024
BATCH_FILES = 256
# What opening and reading a small file costs, in bytes of matching: 400 small files are worth a pool.
FILE_COST_BYTES = 20_000
# What reading a screenshot with OCR costs (0.3-1 s), in bytes of matching: each image is a unit of its own, and
# a few of them are worth a pool. Images are known here by name; the worker knows them by their bytes.
IMAGE_COST_BYTES = 32 * 1024 * 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def shown_path(path: str) -> str:
    """A path as it can be printed and written anywhere: undecodable bytes of a file name escaped."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class FilesSource(Source):
    def __init__(
        self, paths: Sequence[str], exclude: Sequence[str] = (), include_deps: bool = False, images: bool = True
    ) -> None:
        self.paths = list(paths)
        self.exclude = list(exclude)
        self.include_deps = include_deps
        self.images = images  # images are read with OCR: each costs as much as a large text file

    def _targets(self, skipped: list[Skipped]) -> Iterator[FileTarget]:
        seen: set[tuple[int, int]] = set()
        for path in self.paths:
            for item in walk(path, self.exclude, self.include_deps):
                if isinstance(item, Skipped):
                    skipped.append(Skipped(shown_path(item.path), item.reason))
                elif item.identity not in seen:
                    seen.add(item.identity)
                    yield item

    def units(self, skipped: list[Skipped]) -> Iterator[list[FileTarget]]:
        batch: list[FileTarget] = []
        size = 0
        for target in self._targets(skipped):
            batch.append(target)
            size += _cost(target, self.images)
            if size >= BATCH_BYTES or len(batch) >= BATCH_FILES:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def blobs(self, unit: list[FileTarget]) -> Iterator[Blob]:
        for target in unit:
            provenance = Provenance("file", shown_path(target.display), "file", local_only=target.local_only)
            yield Blob(provenance, file=target.path, size=target.size)

    def weight(self, unit: list[FileTarget]) -> int:
        return sum(_cost(target, self.images) for target in unit)


def _cost(target: FileTarget, images: bool) -> int:
    if images and target.path.lower().endswith(IMAGE_SUFFIXES):
        return IMAGE_COST_BYTES
    return max(target.size, FILE_COST_BYTES)
