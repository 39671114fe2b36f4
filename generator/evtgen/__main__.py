import sys

from evtgen.cli import main

sys.exit(main())
