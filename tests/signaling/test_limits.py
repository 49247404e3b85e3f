"""Token buckets: a used key is remembered until its bucket has filled up again."""

from __future__ import annotations

from signaling.limits import Bucket


def test_prune_forgets_only_buckets_that_are_full_again():
    now = [0.0]
    bucket = Bucket(rate=2, burst=4, clock=lambda: now[0])
    for _ in range(4):
        assert bucket.take("flooder")
    assert not bucket.take("flooder")
    assert bucket.take("quiet")
    now[0] = 1.0  # the quiet one is full again (3 + 2), the flooder has 2 of 4
    bucket.prune()
    assert sorted(bucket._state) == ["flooder"]
    assert bucket.take("flooder") and bucket.take("flooder") and not bucket.take("flooder")
