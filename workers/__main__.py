"""`python -m workers synth | synth-batch | register-voice`: the offline commands' original spelling (tts/cli)."""

import sys

from tts.cli.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
