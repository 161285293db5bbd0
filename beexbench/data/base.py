"""The in-memory text classification dataset every loader returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextDataset:
    name: str
    texts: tuple[str, ...]
    labels: tuple[int, ...]
    label_names: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    def __len__(self) -> int:
        return len(self.texts)

    def class_counts(self) -> dict[str, int]:
        counts = {name: 0 for name in self.label_names}
        for y in self.labels:
            counts[self.label_names[y]] += 1
        return counts
