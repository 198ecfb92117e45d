"""`python -m client ...`: the `qwen3-tts` command line."""

import sys

from client.cli import main

sys.exit(main())
