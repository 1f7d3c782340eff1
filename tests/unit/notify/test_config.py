"""The notify service's configuration and secrets: a bad value names its
variable; secrets are read by name from the environment or a folder."""

from __future__ import annotations

import pytest

from svc_kit.config import ConfigError, load_settings
from svc_kit.services import BY_NAME
from svc_notify.adapters.registry import Secrets
from svc_notify.config import load
from svc_notify.domain.providers import default_provider


def settings(tmp_path, **env):
    return load_settings(BY_NAME["notify"], {"MKT_STATE_DIR": str(tmp_path), **env})


def test_defaults(tmp_path):
    config = load(settings(tmp_path))
    assert config.database_url == f"sqlite:///{tmp_path}/notify.sqlite3"
    assert config.default_smtp is None and config.dispatch and config.migrate_on_start
    assert config.secrets_dir == tmp_path / "secrets" and config.public_base_url == ""
    assert config.dispatcher.batch_size == 500 and config.dispatcher.max_attempts == 6


def test_the_default_email_provider_is_explicit_configuration(tmp_path):
    config = load(settings(tmp_path, MKT_NOTIFY_DEFAULT_SMTP="127.0.0.1:1025",
                           MKT_NOTIFY_DEFAULT_FROM='"Shop" <news@shop.example>',
                           MKT_PUBLIC_BASE_URL="https://mkt.example.com/", MKT_NOTIFY_MAX_ATTEMPTS="3"))
    smtp = config.default_smtp
    assert (smtp.host, smtp.port, smtp.security, smtp.from_address, smtp.from_name) == (
        "127.0.0.1", 1025, "NONE", "news@shop.example", "Shop")
    assert config.public_base_url == "https://mkt.example.com" and config.dispatcher.max_attempts == 3
    provider = default_provider("acme", smtp)
    assert provider.name == "workspaces/acme/providers/default-smtp" and provider.violations() == []


@pytest.mark.parametrize("variable, value", [
    ("MKT_NOTIFY_DEFAULT_SMTP", "localhost"), ("MKT_NOTIFY_DEFAULT_FROM", "nobody"),
    ("MKT_NOTIFY_DISPATCH", "maybe"), ("MKT_NOTIFY_DISPATCH_BATCH", "0"), ("MKT_NOTIFY_LEASE_SECONDS", "soon"),
    ("MKT_NOTIFY_DATABASE_URL", "mysql://x/y"), ("MKT_PUBLIC_BASE_URL", "ftp://x"), ("MKT_LINK_SIGNING_KEY", "short")])
def test_a_bad_value_names_its_variable(tmp_path, variable, value):
    env = {"MKT_NOTIFY_DEFAULT_SMTP": "127.0.0.1:1025"} if variable == "MKT_NOTIFY_DEFAULT_FROM" else {}
    with pytest.raises(ConfigError, match=variable):
        load(settings(tmp_path, **env, **{variable: value}))


def test_secrets_by_name_from_the_environment_then_the_folder(tmp_path):
    (tmp_path / "relay.password").write_text("from-file\n")
    (tmp_path / "both").write_text("file")
    secrets = Secrets({"MKT_SECRET_BOTH": "env", "MKT_SECRET_SMS_TOKEN": "tok"}, tmp_path)
    assert Secrets.variable("relay.password") == "MKT_SECRET_RELAY_PASSWORD"
    assert secrets.get("relay.password") == "from-file"
    assert secrets.get("both") == "env" and secrets.get("sms-token") == "tok"
    assert secrets.get("missing") is None and secrets.get("") is None and secrets.get("../etc/passwd") is None
