"""docs/configuration.md is generated from the declared environment variables
and must be committed fresh; the declarations read values as the services did."""

from __future__ import annotations

import pytest

from devstack.tools import configdoc
from svc_kit.config import ConfigError
from svc_kit.settings_spec import Variable


def test_the_committed_configuration_page_is_fresh():
    assert configdoc.OUTPUT.read_text() == configdoc.render(), \
        "docs/configuration.md is stale: run `python -m devstack.tools.configdoc` and commit it"


def test_check_fails_with_a_clear_message_when_the_page_is_stale(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(configdoc, "OUTPUT", tmp_path / "docs" / "configuration.md")
    assert configdoc.main(["--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    assert configdoc.main([]) == 0 and configdoc.main(["--check"]) == 0


def test_every_process_declares_each_variable_once_with_a_description():
    for process, variables in configdoc.catalogue().items():
        names = [variable.name for variable in variables]
        assert len(names) == len(set(names)), process
        assert all(variable.description for variable in variables), process


def test_a_variable_reads_its_default_when_unset_or_blank():
    flag = Variable("MKT_X", "flag", True, "x")
    number = Variable("MKT_N", "integer", 5, "n", low=1, high=10)
    assert flag.read({}) is True and flag.read({"MKT_X": ""}) is True and flag.read({"MKT_X": "FALSE"}) is False
    assert number.read({"MKT_N": ""}) == 5 and number.read({"MKT_N": "7"}) == 7
    kept = Variable("MKT_H", "text", "127.0.0.1", "h", blank_is_unset=False)
    assert kept.read({"MKT_H": ""}) == "" and kept.read({}) == "127.0.0.1"


@pytest.mark.parametrize("variable, value, message", [
    (Variable("MKT_X", "flag", True, "x"), "maybe", "MKT_X='maybe' must be true or false"),
    (Variable("MKT_N", "integer", 5, "n", low=1, high=10), "11", "MKT_N='11' must lie between 1 and 10"),
    (Variable("MKT_N", "number", 5.0, "n", low=1, high=10), "soon", "MKT_N='soon' is not a number"),
    (Variable("MKT_P", "port", 1, "p"), "70000", "MKT_P='70000' is not a port number (1-65535)"),
    (Variable("MKT_S", "seconds", 1.0, "s"), "4000", "MKT_S='4000' must lie between 0 and 3600 seconds"),
    (Variable("MKT_U", "url", None, "u"), "ftp://x", "MKT_U='ftp://x' is not an http(s)://host:port URL"),
    (Variable("MKT_L", "choice", "INFO", "l", choices=("INFO", "DEBUG")), "loud", "MKT_L='LOUD' must be one of"),
])
def test_a_bad_value_names_the_variable_and_what_was_expected(variable, value, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        variable.read({variable.name: value})
