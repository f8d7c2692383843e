"""An asyncio load generator for LLM serving: TTFT, TPOT, inter-token latency, throughput.

Run it as ``python -m loadtests.bench`` from the repository root (``loadtests`` is a
namespace package, so no ``loadtests/__init__.py`` is needed).
"""
