"""Allow `python -m segue` and `torchrun -m segue`."""

from segue.cli import main

raise SystemExit(main())
