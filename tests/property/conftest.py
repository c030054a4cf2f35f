"""Hypothesis settings for the property suite: quick enough to run before every commit."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The machine is shared, so timing varies: no per-example deadline. A few hundred examples per
# property keep the whole suite to seconds; `HYPOTHESIS_PROFILE=thorough` searches longer.
settings.register_profile(
    "default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
