"""Ray Serve LLM's ``LLMServer``, extended with what operators and tests need to see.

Ray's server exposes no count of the requests its engine is working on; we read
it from the vLLM engine client. This module is the one place that touches those
internals.
"""

from __future__ import annotations

from ray.serve.llm import LLMServer


class FleetLLMServer(LLMServer):
    async def unfinished_requests(self) -> int:
        """Requests the vLLM engine has accepted and not yet finished or aborted."""
        engine_client = getattr(self.engine, "_engine_client", None)
        if engine_client is None:
            return 0
        return engine_client.output_processor.get_num_unfinished_requests()
