"""A job's speakers as stored between its diarize and stitch steps (``speakers.json``)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from audiosvc.speakers.attribution import LabelledTurn


class Speakers(BaseModel):
    labels: list[str]  # in order of first appearance
    turns: list[tuple[float, float, str]]  # (start, end, label), in order of start

    def labelled_turns(self) -> list[LabelledTurn]:
        return [LabelledTurn(s, e, label) for s, e, label in self.turns]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(self.model_dump_json())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Speakers:
        return cls.model_validate_json(path.read_text())
