"""Execute one chapter notebook with papermill, without validating data or building the book.

An authoring aid: `python scripts/run_chapter.py 07_efficacy -p method=DL` writes
book/_executed/07_efficacy.ipynb or prints where the failing notebook was kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mscfm.errors import MscfmError
from mscfm.paths import project_root
from mscfm.pipeline.execute import Job, execute_job
from mscfm.pipeline.notebooks import discover_chapters, resolve_overrides


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter")
    parser.add_argument("-p", "--param", action="append", default=[])
    args = parser.parse_args()
    root: Path = project_root()
    try:
        chapters = discover_chapters(root)
        overrides = resolve_overrides(chapters, args.param)
    except MscfmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    chapter = next((c for c in chapters if c.name == args.chapter), None)
    if chapter is None:
        print(f"no chapter {args.chapter!r}; have: {[c.name for c in chapters]}", file=sys.stderr)
        return 2
    params = {**chapter.defaults(), **overrides[chapter.name]}
    outcome = execute_job(Job(chapter, params, root))
    print(
        f"{outcome.name}: {'ok' if outcome.ok else 'FAILED'} in {outcome.seconds:.1f} s "
        f"{outcome.message}"
    )
    if outcome.ok:
        print(f"executed copy: {chapter.executed_path(root)}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
