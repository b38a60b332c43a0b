"""The model-output tests under every instruction set this machine can be made to use, and the
spread of each measure: what ``make test-cpus`` runs before any bound changes.

The numbers a model gives differ by processor, because each library under it picks its
kernels by what the CPU can do:

* CTranslate2 (Whisper): its own kernels by ``CT2_FORCE_CPU_ISA``; its GEMM backend (MKL on
  Intel, oneDNN elsewhere) by ``CT2_USE_MKL``; oneDNN then dispatches on its own
  (``ONEDNN_MAX_CPU_ISA``), which ``CT2_FORCE_CPU_ISA`` does not reach. On an AMD EPYC
  (Zen 4) only oneDNN's ISA moved the word times of ``samples/short.wav``.
* numpy's OpenBLAS (Whisper's log-mel features, the speaker models' front end):
  ``OPENBLAS_CORETYPE``; numpy's own loops: ``NPY_DISABLE_CPU_FEATURES``.
* onnxruntime (Silero VAD, the speaker models) has no such switch: it runs its best kernels
  in every set, and its spread is not seen here.

Each set runs ``pytest -m measured`` (the tests of modules that use :mod:`tests.measures`)
with the variables set, every process the tests start inheriting them; the measures each
run took are gathered (``MEASURES_OUT``) and printed per test and measure, lowest and
highest, for the bounds to be set with margin over all of them. A failing test is reported
and the next set runs; the exit status says whether every set passed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The sets: the machine's own choice, then older and other kernels, mixed.
SETS: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {
        "CT2_FORCE_CPU_ISA": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "OPENBLAS_CORETYPE": "Haswell",
    },
    "oldest": {
        "CT2_FORCE_CPU_ISA": "GENERIC",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "OPENBLAS_CORETYPE": "Prescott",
        "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512_SKX AVX512_ICL AVX512_SPR AVX2 FMA3",
    },
    "mkl": {"CT2_USE_MKL": "1", "CT2_FORCE_CPU_ISA": "AVX512", "OPENBLAS_CORETYPE": "Zen"},
    "avx512-core": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "OPENBLAS_CORETYPE": "SkylakeX"},
}


def main() -> int:
    names = sys.argv[1:] or list(SETS)
    failed: list[str] = []
    values: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / f"{name}.jsonl"
            env = {**os.environ, **SETS[name], "MEASURES_OUT": str(out)}
            print(f"== {name}: {' '.join(f'{k}={v}' for k, v in SETS[name].items()) or '-'}")
            sys.stdout.flush()
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-m", "measured", "-q"],
                cwd=ROOT,
                env=env,
                check=False,
            )
            if run.returncode != 0:
                failed.append(name)
            for line in out.read_text().splitlines() if out.exists() else []:
                row = json.loads(line)
                values[(row["test"], row["measure"])][name] = row["value"]
    width = max((len(t) for t, _ in values), default=4)
    print(f"\n{'test':<{width}}  {'measure':>20}  {'lowest':>7}  {'highest':>7}  sets")
    for (test, measure), by_set in sorted(values.items()):
        low, high = min(by_set.values()), max(by_set.values())
        shown = " ".join(f"{by_set.get(n, float('nan')):.3f}" for n in names)
        print(f"{test:<{width}}  {measure:>20}  {low:7.3f}  {high:7.3f}  {shown}")
    print(f"\nsets: {' '.join(names)}; failed: {' '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
