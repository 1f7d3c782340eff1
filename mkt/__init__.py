"""`mkt`: the platform's one command-line tool; it assembles the subcommands each
service declares in its `entrypoints/cli.py` (`register(subparsers)`)."""
