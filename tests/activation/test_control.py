import random

import pytest

from activation.control import control_draw, control_flags, is_control


def test_draw_is_pinned_to_sha256_of_segment_and_id():
    # first 8 bytes of sha256("vip:c1") = b84fe803c9d0cb60 -> 0xb84fe803c9d0cb60 / 2**64
    assert control_draw("vip", "c1") == 0xB84FE803C9D0CB60 / 2**64
    assert control_draw("c1", "vip") != control_draw("vip", "c1")


def test_flags_stable_across_calls_and_row_orders():
    ids = [f"cust-{i}" for i in range(2000)]
    first = dict(zip(ids, control_flags(ids, "vip", 0.1).to_list()))
    shuffled = ids[:]
    random.Random(7).shuffle(shuffled)
    second = dict(zip(shuffled, control_flags(shuffled, "vip", 0.1).to_list()))
    assert first == second
    assert all(is_control("vip", cid, 0.1) == flag for cid, flag in list(first.items())[:200])


def test_share_close_to_target_on_10000_ids():
    ids = [str(i) for i in range(10_000)]
    for share in (0.05, 0.1, 0.5):
        held_out = control_flags(ids, "at_risk", share).sum()
        # binomial sd at 0.5 is 50 rows; 4 sd
        assert abs(held_out - share * 10_000) < 200, (share, held_out)
    assert control_flags(ids, "at_risk", 0.0).sum() == 0
    assert control_flags(ids, "at_risk", 1.0).sum() == 10_000


def test_groups_differ_between_segments_and_ids_compare_as_strings():
    ids = [str(i) for i in range(1000)]
    assert control_flags(ids, "vip", 0.5).to_list() != control_flags(ids, "at_risk", 0.5).to_list()
    assert control_flags([42, 7], "vip", 0.5).to_list() == control_flags(["42", "7"], "vip", 0.5).to_list()


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_share_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="control_share"):
        control_flags(["a"], "vip", bad)
