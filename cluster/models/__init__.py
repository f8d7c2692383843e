"""Model deployments: one Ray Serve LLM deployment (vLLM engines) per configured model."""
