"""Settings shared by the fuzz tests: a few examples each in `make test` (the suite stays about a
minute), many more under `make fuzz`, which sets MEMSIM_FUZZ_EXAMPLES. Mark fuzz tests with
@pytest.mark.fuzz so that `make fuzz` selects them."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz(examples: int) -> settings:
    """Hypothesis settings: `examples` examples, or MEMSIM_FUZZ_EXAMPLES when set; no deadline
    (a shared machine's timing is no failure)."""
    return settings(max_examples=int(os.environ.get("MEMSIM_FUZZ_EXAMPLES", examples)), deadline=None,
                    suppress_health_check=list(HealthCheck))
