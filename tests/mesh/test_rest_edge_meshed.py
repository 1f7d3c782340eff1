"""The edge's REST checks (tests/e2e/test_rest_edge.py), unchanged, against the platform with the
local mesh on: the edge's behaviour does not change when it reaches the services through their
sidecars with mutual TLS. And a campaign launch (tests/e2e/test_campaign_launch.py), whose calls
from service to service all go through the sidecars."""

from __future__ import annotations

import pytest

from tests.e2e.test_auth import (  # noqa: F401 - the key check reaches integrations through its sidecar
    test_a_key_for_workspace_a_gets_404_on_b, test_a_revoked_key_is_401_at_once_and_keys_are_shown_once,
    test_an_identity_header_sent_by_a_client_is_ignored, test_mkt_keys_and_token_commands,
    test_public_endpoints_need_no_credentials,
    test_rest_without_credentials_is_401_with_www_authenticate, test_viewer_is_refused_a_write_naming_the_permission)
from tests.e2e.test_campaign_launch import (  # noqa: F401 - collected here with the meshed `running`
    test_a_started_campaign_snapshots_its_segments_and_hands_messages_over)
from tests.e2e.test_rest_edge import (  # noqa: F401
    test_access_log_is_json, test_allocations_over_budget_are_refused_naming_the_field,
    test_as_of_returns_the_old_values_and_history_lists_every_change, test_body_over_the_limit_is_413,
    test_broken_json_is_400_json, test_create_returns_name_and_etag_and_get_reads_it_back,
    test_full_lifecycle_through_rest, test_healthz_reports_edge_and_every_service,
    test_idempotent_create_by_request_id, test_list_filters_on_state_and_label, test_list_pages_through_more_than_two,
    test_other_workspace_cannot_see_the_campaign, test_patch_changes_only_masked_fields_and_stale_etag_conflicts,
    test_undecodable_map_value_is_400_not_500, test_unknown_path_is_404_json, test_unknown_query_parameter_is_400,
    test_wrong_state_transitions_answer_400_naming_the_state)

pytestmark = pytest.mark.e2e
