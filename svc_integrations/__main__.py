from svc_kit.app import main
from svc_kit.placeholder import mount_placeholder

main("integrations", mount_placeholder)
