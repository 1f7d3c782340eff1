"""python -m svc_campaign            serve the campaign API
python -m svc_campaign replay     rebuild the projection from the event stream (--check to compare only)
python -m svc_campaign migrate    bring the database to the newest schema"""

import sys

from svc_kit.app import main, run_tool
from svc_campaign.bootstrap import mount, tool_engine

command = sys.argv[1] if len(sys.argv) > 1 else "serve"
if command == "serve":
    main("campaign", mount)
elif command == "replay":
    from svc_campaign import replay

    sys.exit(run_tool("campaign", lambda settings: replay.main(sys.argv[2:], tool_engine(settings))))
elif command == "migrate":
    from svc_campaign import migrate

    sys.exit(run_tool("campaign", lambda settings: migrate.upgrade(tool_engine(settings)) or print("migrated")))
else:
    sys.exit(__doc__)
