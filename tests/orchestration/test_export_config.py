import pytest

from orchestration.export_config import load_exports, parse_exports
from orchestration.resources import REPO_ROOT


def test_the_shipped_exports_file_is_valid():
    exports = load_exports(REPO_ROOT / "exports.yml")
    assert exports and len({e.asset_name for e in exports}) == len(exports)


def test_defaults_and_errors():
    (only,) = parse_exports({"exports": [{"segment": "vip"}]})
    assert (only.channel, only.format, only.control_share) == ("email", "csv", 0.1)
    with pytest.raises(ValueError, match="channel 'fax'"):
        parse_exports({"exports": [{"segment": "vip", "channel": "fax"}]})
    with pytest.raises(ValueError, match="unknown field"):
        parse_exports({"exports": [{"segment": "vip", "colour": "red"}]})
    with pytest.raises(ValueError, match="listed twice"):
        parse_exports({"exports": [{"segment": "vip"}, {"segment": "vip"}]})
    assert parse_exports(None) == []
