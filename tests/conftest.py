import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# CI runs the differential tests with many more examples (>= 10,000); locally a quick pass.
settings.register_profile("ci", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# Shared test helpers (tests/differential.py) import by name; --import-mode=importlib does not
# put test directories on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
