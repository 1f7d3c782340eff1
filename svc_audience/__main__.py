"""python -m svc_audience                serve the audience API
python -m svc_audience import FILE     import profiles from CSV or NDJSON (--help for the format)
python -m svc_audience suppressions import FILE | export
                                       the suppression list from or to CSV or NDJSON (--help)"""

import sys

command = sys.argv[1] if len(sys.argv) > 1 else "serve"
if command == "serve":
    from svc_audience.bootstrap import mount
    from svc_kit.app import main

    main("audience", mount)
elif command == "import":
    from svc_audience import importer

    sys.exit(importer.main(sys.argv[2:]))
elif command == "suppressions":
    from svc_audience import suppression_cli

    sys.exit(suppression_cli.main(sys.argv[2:]))
else:
    sys.exit(__doc__)
