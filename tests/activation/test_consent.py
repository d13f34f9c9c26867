import polars as pl
import pytest

from activation.consent import consent_filter

FRAME = pl.DataFrame({
    "customer_id": ["yes_both", "email_only", "push_only", "refused", "unknown", "email_unknown_push_no"],
    "email_opt_in": [True, True, False, False, None, None],
    "push_opt_in": [True, None, True, False, None, False],
})


def ids(frame: pl.DataFrame) -> set[str]:
    return set(frame.get_column("customer_id"))


def test_email_keeps_only_explicit_opt_in():
    kept, excluded = consent_filter(FRAME, "email")
    assert ids(kept) == {"yes_both", "email_only"}
    assert excluded == 4


def test_push_excludes_refused_and_unknown():
    kept, excluded = consent_filter(FRAME, "push")
    assert ids(kept) == {"yes_both", "push_only"}
    assert excluded == 4


def test_any_is_either_channel():
    kept, excluded = consent_filter(FRAME, "any")
    assert ids(kept) == {"yes_both", "email_only", "push_only"}
    assert excluded == 3


def test_missing_consent_column_means_no_consent():
    kept, excluded = consent_filter(FRAME.drop("push_opt_in"), "push")
    assert kept.height == 0 and excluded == FRAME.height
    kept, _ = consent_filter(FRAME.drop("push_opt_in"), "any")
    assert ids(kept) == {"yes_both", "email_only"}


def test_text_and_number_flags():
    frame = pl.DataFrame({"customer_id": list("abcdefg"),
                          "email_opt_in": ["yes", "TRUE", " 1 ", "no", "", None, "maybe"]})
    assert ids(consent_filter(frame, "email")[0]) == {"a", "b", "c"}
    numbers = pl.DataFrame({"customer_id": ["a", "b", "c"], "email_opt_in": [1, 0, None]})
    assert ids(consent_filter(numbers, "email")[0]) == {"a"}


def test_unknown_channel_is_refused():
    with pytest.raises(ValueError, match="channel"):
        consent_filter(FRAME, "sms")
