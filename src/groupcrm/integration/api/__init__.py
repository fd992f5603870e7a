"""The integration app's API (imports, dedup queues, exports), one module per area."""

from __future__ import annotations

from groupcrm.integration.api import dedup, exports, imports

__all__ = ["dedup", "exports", "imports"]
