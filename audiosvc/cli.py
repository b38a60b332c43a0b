"""Command line: ``audiosvc transcribe FILE... [options]``.

Only the result goes to stdout (when no ``-o`` is given); progress and errors go to stderr.
Every error is one line naming the file and the cause, and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from pydantic import ValidationError

from audiosvc import __version__, jobqueue
from audiosvc.errors import AudiosvcError
from audiosvc.formats import (
    EXTENSIONS,
    FORMATS,
    OutputFormat,
    needs_speakers,
    needs_words,
    parse_format,
    render,
)
from audiosvc.jobqueue import LANES
from audiosvc.jobs import MAX_SPEAKERS
from audiosvc.pipeline import Progress, transcribe_file
from audiosvc.providers import make_provider
from audiosvc.providers.base import SpeechProvider, TranscribeOptions
from audiosvc.settings import ProviderName, Settings
from audiosvc.subtitles import SubtitleLimits

# verbose_json from the CLI lists both segments and words.
VERBOSE_GRANULARITIES = ("segment", "word")

EXIT_USAGE = 2
EXIT_FAILED = 1


# --speakers without N. Not a string: argparse would pass a string const through the type.
ESTIMATED = 0


def _speaker_count(value: str) -> int:
    n = int(value)
    if not 1 <= n <= MAX_SPEAKERS:
        raise argparse.ArgumentTypeError(f"takes 1 to {MAX_SPEAKERS} (or nothing: estimated)")
    return n


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audiosvc", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"audiosvc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser(
        "transcribe",
        help="transcribe or translate media files of any length",
        description="Transcribe (or translate into English) audio or video files of any "
        "length. With no API key, runs the local engine offline.",
    )
    t.add_argument("files", nargs="+", metavar="FILE", type=Path)
    t.add_argument("--task", choices=["transcribe", "translate"], default="transcribe")
    t.add_argument("--language", help="ISO-639-1 code of the spoken language (default: detect)")
    t.add_argument(
        "--model", help="model name, e.g. whisper-large-v3-turbo, base, tiny.en (default: auto)"
    )
    t.add_argument("--prompt", help="text to guide spelling and style; sent with every chunk")
    t.add_argument("--temperature", type=float, default=0.0)
    t.add_argument("--format", "-f", default="text", help=f"one of: {', '.join(FORMATS)}")
    t.add_argument(
        "-o",
        "--output",
        type=Path,
        help="output file (one input) or directory (several inputs); default: stdout",
    )
    t.add_argument("--chunk-seconds", type=float, help="maximum chunk length in seconds")
    t.add_argument("--provider", choices=list(get_args(ProviderName)))
    t.add_argument("--base-url", help="base URL of an OpenAI-compatible server")
    t.add_argument(
        "--speakers",
        nargs="?",
        type=_speaker_count,
        const=ESTIMATED,
        metavar="N",
        help="say who speaks (A:, B:, ... in every format); N: exactly N speakers "
        "(default: estimated)",
    )
    t.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    s = sub.add_parser(
        "serve",
        help="run the whole service on this machine (embedded Redis, a worker, the API)",
    )
    s.add_argument("--host", default=None, help="default: AUDIOSVC_HOST or 127.0.0.1")
    s.add_argument("--port", type=int, default=None, help="default: AUDIOSVC_PORT or 8000")
    s.add_argument(
        "--workers", type=int, default=None, help="batch worker processes (default: one per core)"
    )

    a = sub.add_parser("api", help="run the API alone (needs AUDIOSVC_REDIS_URL)")
    a.add_argument("--host", default=None)
    a.add_argument("--port", type=int, default=None)

    w = sub.add_parser("worker", help="run a Celery worker alone (needs AUDIOSVC_REDIS_URL)")
    w.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=None,
        help="processes (default: one per core for --lanes batch, else 1)",
    )
    w.add_argument("--loglevel", default="INFO")
    w.add_argument(
        "--lanes",
        default="interactive,batch,io",
        help="queues to take, in priority order: interactive, batch, io (default all three)",
    )
    return parser


def _fail(message: str) -> None:
    print(f"audiosvc: error: {message}", file=sys.stderr)


class _ProgressBar:
    """A tqdm bar on stderr counting audio seconds, with chunks done in the postfix."""

    def __init__(self, name: str, enabled: bool) -> None:
        self.name = name
        self.enabled = enabled
        self._bar: object | None = None

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(
                total=round(p.seconds_total, 1),
                desc=self.name,
                unit="s",
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
        bar = self._bar
        assert isinstance(bar, tqdm)
        bar.n = round(p.seconds_done, 1)
        bar.set_postfix_str(f"chunks {p.chunks_done}/{p.chunks_total}")
        bar.refresh()

    def close(self) -> None:
        from tqdm import tqdm

        if isinstance(self._bar, tqdm):
            self._bar.close()


def _output_path(args: argparse.Namespace, src: Path, fmt: OutputFormat) -> Path | None:
    if args.output is None:
        return None
    if len(args.files) == 1 and not args.output.is_dir():
        return Path(args.output)
    return Path(args.output) / f"{src.stem}.{EXTENSIONS[fmt]}"


def _transcribe(args: argparse.Namespace) -> int:
    settings_update: dict[str, object] = {}
    if args.base_url:
        settings_update["base_url"] = args.base_url
    if args.provider:
        settings_update["provider"] = args.provider
    try:
        fmt = parse_format(args.format)
        settings = Settings().model_copy(update=settings_update)
        provider: SpeechProvider = make_provider(settings)
    except AudiosvcError as exc:
        _fail(str(exc))
        return EXIT_USAGE
    if args.output is not None and len(args.files) > 1:
        args.output.mkdir(parents=True, exist_ok=True)
    speakers = None
    if args.speakers is not None or needs_speakers(fmt):
        from audiosvc.speakers.clustering import SpeakerCount

        exactly = None if args.speakers in (None, ESTIMATED) else args.speakers
        speakers = SpeakerCount(exactly=exactly)

    options = TranscribeOptions(
        task=args.task,
        model=args.model,
        language=args.language,
        prompt=args.prompt,
        temperature=args.temperature,
        word_timestamps=needs_words(fmt, VERBOSE_GRANULARITIES) or speakers is not None,
    )
    limits = SubtitleLimits.from_settings(settings)
    failed = 0
    for src in args.files:
        bar = _ProgressBar(src.name, enabled=not args.quiet and sys.stderr.isatty())
        try:
            transcript = transcribe_file(
                src,
                options,
                provider,
                settings,
                chunk_seconds=args.chunk_seconds,
                on_progress=bar,
                speakers=speakers,
            )
            body = render(transcript, fmt, limits=limits, granularities=VERBOSE_GRANULARITIES)
        except AudiosvcError as exc:
            bar.close()
            msg = str(exc)
            _fail(msg if msg.startswith(src.name) else f"{src}: {msg}")
            failed += 1
            continue
        except Exception as exc:  # a bug, not bad input: still one line, and go on
            bar.close()
            _fail(f"{src}: internal error ({type(exc).__name__}: {exc})")
            failed += 1
            continue
        bar.close()
        out = _output_path(args, src, fmt)
        if out is None:
            sys.stdout.write(body)
            sys.stdout.flush()
        else:
            out.write_text(body, encoding="utf-8")
    return EXIT_FAILED if failed else 0


def _run_service(args: argparse.Namespace) -> int:
    from audiosvc import runner

    settings = Settings()
    host = getattr(args, "host", None) or settings.host
    port = getattr(args, "port", None) or settings.port
    if args.command == "serve":
        workers = args.workers or runner.default_processes((jobqueue.BATCH,))
        return runner.serve(settings, host=host, port=port, workers=workers)
    if args.command == "api":
        return runner.api(settings, host=host, port=port)
    if args.command == "worker":
        lanes = [lane.strip() for lane in args.lanes.split(",") if lane.strip()]
        unknown = sorted(set(lanes) - set(LANES))
        if unknown or not lanes:
            _fail(f"--lanes takes {', '.join(LANES)}; not {', '.join(unknown) or 'nothing'}")
            return EXIT_USAGE
        concurrency = args.concurrency or runner.default_processes(lanes)
        return runner.worker(settings, concurrency=concurrency, loglevel=args.loglevel, lanes=lanes)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = _parser().parse_args(argv)
    try:
        if args.command == "transcribe":
            return _transcribe(args)
        return _run_service(args)
    except AudiosvcError as exc:
        _fail(str(exc))
        return EXIT_FAILED
    except ValidationError as exc:  # the environment's AUDIOSVC_* settings
        first = exc.errors()[0]
        where = f"AUDIOSVC_{str(first['loc'][0]).upper()}: " if first["loc"] else ""
        _fail(f"bad configuration: {where}{first['msg'].removeprefix('Value error, ')}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
