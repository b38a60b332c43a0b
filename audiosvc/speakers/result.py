"""A job's speakers as stored between its diarize and stitch steps (``speakers.json``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from audiosvc.speakers.attribution import LabelledTurn
from audiosvc.storage import write_text_atomically


class Speakers(BaseModel):
    labels: list[str]  # in order of first appearance
    turns: list[tuple[float, float, str]]  # (start, end, label), in order of start

    def labelled_turns(self) -> list[LabelledTurn]:
        return [LabelledTurn(s, e, label) for s, e, label in self.turns]

    def save(self, path: Path) -> None:
        write_text_atomically(path, self.model_dump_json())

    @classmethod
    def load(cls, path: Path) -> Speakers:
        return cls.model_validate_json(path.read_text())
