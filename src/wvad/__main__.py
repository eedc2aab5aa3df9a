"""`python -m wvad ...` runs the `wvad` command line."""

import sys

from wvad.cli import main

sys.exit(main())
