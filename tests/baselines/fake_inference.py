"""A stand-in for an official inference script (GFPGAN's, CodeFormer's), for the command tests.

It reads every PNG of ``-i``, writes its negative to ``-o`` under ``--pattern`` (the way the
official scripts rename their results) and can misbehave on request: skip or corrupt some
images, exit with an error, hang (with a child process) or change the output size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-i", "--input", required=True, type=Path)
    parser.add_argument("-o", "--output", required=True, type=Path)
    parser.add_argument("--pattern", default="{stem}.png")
    parser.add_argument("--skip", action="append", default=[], help="stems to leave out")
    parser.add_argument("--corrupt", action="append", default=[], help="stems to write broken")
    parser.add_argument("--exit", type=int, default=0, help="exit status after the work")
    parser.add_argument("--hang", type=float, default=0.0, help="seconds to sleep first")
    parser.add_argument("--child-pid-file", type=Path, help="start a sleeping child, write its pid")
    parser.add_argument("--scale", type=int, default=1, help="upscale outputs by this factor")
    args = parser.parse_args()
    print(f"fake inference, tag={os.environ.get('FAKE_TAG', '-')}", flush=True)
    if args.child_pid_file:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        args.child_pid_file.write_text(str(child.pid))
    time.sleep(args.hang)
    for path in sorted(args.input.glob("*.png")):
        stem = path.stem
        target = args.output / args.pattern.format(stem=stem)
        target.parent.mkdir(parents=True, exist_ok=True)
        if stem in args.skip:
            print(f"skipping {stem}", file=sys.stderr)
            continue
        if stem in args.corrupt:
            target.write_bytes(b"\x89PNG not really")
            continue
        pixels = 255 - np.asarray(Image.open(path).convert("RGB"))
        image = Image.fromarray(pixels)
        if args.scale != 1:
            size = (image.width * args.scale, image.height * args.scale)
            image = image.resize(size, Image.Resampling.NEAREST)
        image.save(target)
        print(f"processed {stem}", flush=True)
    return args.exit


if __name__ == "__main__":
    sys.exit(main())
