"""`python -m bot`: the same command line as `rotation-bot`."""

from bot.cli import main

raise SystemExit(main())
