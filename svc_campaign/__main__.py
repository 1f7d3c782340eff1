from svc_campaign.bootstrap import mount
from svc_kit.app import main

main("campaign", mount)
