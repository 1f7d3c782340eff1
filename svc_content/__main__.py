"""python -m svc_content            serve the content API
python -m svc_content migrate    bring the database to the newest schema"""

import sys

from svc_kit.app import main, run_tool
from svc_content.bootstrap import mount, tool_engine

command = sys.argv[1] if len(sys.argv) > 1 else "serve"
if command == "serve":
    main("content", mount)
elif command == "migrate":
    from svc_content import migrate

    sys.exit(run_tool("content", lambda settings: migrate.upgrade(tool_engine(settings)) or print("migrated")))
else:
    sys.exit(__doc__)
