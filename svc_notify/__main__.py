"""python -m svc_notify            serve the notify API and run the dispatcher
python -m svc_notify migrate    bring the database to the newest schema"""

import sys

from svc_kit.app import main, run_tool
from svc_notify.bootstrap import mount, tool_engine

command = sys.argv[1] if len(sys.argv) > 1 else "serve"
if command == "serve":
    main("notify", mount)
elif command == "migrate":
    from svc_notify import migrate

    sys.exit(run_tool("notify", lambda settings: migrate.upgrade(tool_engine(settings)) or print("migrated")))
else:
    sys.exit(__doc__)
