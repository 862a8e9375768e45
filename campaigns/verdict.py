"""The campaign file's ``verdict:`` section: how the morning verdict treats numbers in doubt.

```yaml
verdict:
  untrustworthy: warn     # warn (default) | fail
```

The load generator watches its own CPU and event-loop lag; when it cannot vouch for a run's
numbers, every output says so with the reason (the report's headline, the PNG, Slack, the Prefect
artifacts, JUnit). ``warn`` keeps the verdict and flags it; ``fail`` also fails the run's gate
``trustworthy numbers`` (exit code 1), for teams that would rather rerun than read doubtful numbers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class VerdictOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    untrustworthy: Literal["warn", "fail"] = Field(
        "warn", description="When the load generator cannot vouch for a run's numbers: warn (flag every output) "
                            "or fail (also fail the gate 'trustworthy numbers').")
