import sys

from hhnas.mirror.cli import main

sys.exit(main())
