"""The campaign service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them), checked at start. Its bootstrap
reads them through svc_kit (migrations, bus, clients), where they are declared."""

from __future__ import annotations

from svc_kit.bus import factory as bus
from svc_kit.clients import target_variable
from svc_kit.config import Variable, service_variables
from svc_kit import migrations as relational
from svc_kit.services import BY_NAME

SERVICE = BY_NAME["campaign"]
REPORT_DEADLINE = Variable(SERVICE.env_prefix + "REPORT_DEADLINE_SECONDS", "seconds", 1.0,
                           "how long GetCampaignStats waits for the analytics service's report before it answers "
                           "without it (reportingDegraded)")
SCHEDULER_POLL = Variable(SERVICE.env_prefix + "SCHEDULER_POLL_SECONDS", "seconds", 15.0,
                          "how often the scheduler looks for campaigns whose start time has come (it also wakes "
                          "at the next start time it knows of, and when this process schedules a campaign)")
UPKEEP_POLL = Variable(SERVICE.env_prefix + "UPKEEP_POLL_SECONDS", "seconds", 5.0,
                       "how often the service looks for running campaigns that are done (all messages final, "
                       "window over: they complete) or whose spend reached a channel's allocation (they pause "
                       "with reason BUDGET_EXHAUSTED, and resume once the budget is raised)")
LAUNCH_PAGE_SIZE = Variable(SERVICE.env_prefix + "LAUNCH_PAGE_SIZE", "integer", 500,
                            "members a launch hands to the notify service per call (one page of a frozen snapshot; "
                            "at most 1000, the page limit of both services)",
                            low=1, high=1000)
FAULT_INJECTION = Variable(SERVICE.env_prefix + "FAULT_INJECTION", "flag", False,
                           "FOR TESTS ONLY, never in production: a campaign labelled mkt-fault-at=STEP[.N] fails "
                           "that step of its launch on purpose (docs/services/campaign.md, launch saga)")
JOURNEY_POLL = Variable(SERVICE.env_prefix + "JOURNEY_POLL_SECONDS", "seconds", 0.25,
                       "how often the journey timer worker looks for due timers (waits that ended); it also wakes "
                       "at once when an event makes an entry due now. Due timers fire within this much of their "
                       "time while the service keeps up")

VARIABLES = (service_variables(SERVICE) + relational.variables(SERVICE)
             + (target_variable("audience"), target_variable("notify"), target_variable("analytics"),
                target_variable("content"))
             + bus.VARIABLES + (REPORT_DEADLINE, SCHEDULER_POLL, UPKEEP_POLL)
             + (LAUNCH_PAGE_SIZE, FAULT_INJECTION, JOURNEY_POLL))
