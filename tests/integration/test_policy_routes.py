"""Rules and semantic routes of the shipped config on the live cluster, over HTTP and gRPC.

The semantic route runs the real all-MiniLM-L6-v2 in the embedder deployment.
"""

from __future__ import annotations

import openai
import pytest

from services.client import FleetClient
from tests.integration.conftest import ACME, MESH, TESTS, RunningCluster, openai_client

RULES = "by-request"
SEMANTIC = "support"
LONG_PROMPT = " ".join(["the replicas report their queue depth every second"] * 25)


def http_route(
    client: openai.OpenAI, route: str, content: str, headers: dict[str, str] | None = None, **body
) -> tuple[str, str, str]:
    raw = client.chat.completions.with_raw_response.create(
        model=route,
        messages=[{"role": "user", "content": content}],
        max_tokens=2,
        extra_headers=headers or {},
        **body,
    )
    fleet = raw.parse().model_extra["fleet"]
    assert raw.headers["x-fleet-variant"] == fleet["variant"]
    return fleet["variant"], fleet["model"], fleet["reason"]


@pytest.mark.parametrize(
    ("content", "tenant", "headers", "body", "variant"),
    [
        ("hello", TESTS, {}, {}, "default"),
        ("hello", ACME, {}, {}, "acme"),
        # A tenant is what the key proves: a claimed one is ignored...
        ("hello", TESTS, {"x-fleet-tenant": ACME}, {}, "default"),
        # ...unless the key is a trusted upstream's, which names the tenant it calls for.
        ("hello", MESH, {"x-fleet-tenant": ACME}, {}, "acme"),
        ("hello", TESTS, {"x-fleet-label-region": "eu"}, {}, "eu"),
        ("hello", TESTS, {}, {"logprobs": True}, "needs-logprobs"),
        # First match wins: the long prompt rule comes before the tenant rule.
        (LONG_PROMPT, ACME, {}, {}, "long-prompt"),
        # A later rule still applies when the earlier ones do not match.
        ("hello", MESH, {"x-fleet-label-region": "eu"}, {}, "eu"),
    ],
)
def test_rules_route_over_http(
    cluster: RunningCluster, content: str, tenant: str, headers: dict, body: dict, variant: str
) -> None:
    with openai_client(cluster, tenant) as client:
        chosen, model, reason = http_route(client, RULES, content, headers, **body)
    assert chosen == variant
    if variant == "long-prompt":
        assert "prompt tokens >= 300" in reason


def test_rules_route_over_grpc_uses_tenant_and_labels(
    cluster: RunningCluster, grpc_client: FleetClient
) -> None:
    route = next(r for r in cluster.config.routes if r.name == RULES)
    models = {rule.name: rule.model for rule in route.rules}
    with FleetClient(cluster.endpoints.grpc, api_key=cluster.keys[ACME], max_retries=0) as acme:
        by_tenant = acme.generate(model=RULES, prompt="hi", max_tokens=2)
    assert (by_tenant.route.variant, by_tenant.route.model) == ("acme", models["acme"])
    # A claimed tenant is ignored: the key says who calls.
    spoofed = grpc_client.generate(model=RULES, prompt="hi", max_tokens=2, tenant=ACME)
    assert spoofed.route.variant == "default"
    by_label = grpc_client.generate(model=RULES, prompt="hi", max_tokens=2, labels={"region": "eu"})
    assert (by_label.route.variant, by_label.route.model) == ("eu", models["eu"])
    assert by_label.route.reason.startswith("rule 'eu' matched")


HELD_OUT = {
    "billing": ["There is an unexpected fee on my statement", "My payment failed, what now?"],
    "coding": ["My Rust program panics with index out of bounds"],
    "account": ["Reset my login credentials please", "Someone else signed into my account"],
    "default": ["Write a poem about autumn leaves", "What is the capital of Australia?"],
}


@pytest.mark.parametrize(
    ("variant", "prompt"),
    [(variant, prompt) for variant, prompts in HELD_OUT.items() for prompt in prompts],
)
def test_semantic_route_sends_held_out_prompts_to_the_right_variant(
    client: openai.OpenAI, variant: str, prompt: str
) -> None:
    chosen, _, reason = http_route(client, SEMANTIC, prompt)
    assert chosen == variant, reason


def test_semantic_route_over_grpc_agrees_with_http(
    client: openai.OpenAI, grpc_client: FleetClient
) -> None:
    prompt = HELD_OUT["account"][0]
    answer = grpc_client.generate(
        model=SEMANTIC, messages=[{"role": "user", "content": prompt}], max_tokens=2
    )
    assert answer.route.variant == http_route(client, SEMANTIC, prompt)[0] == "account"
    assert answer.route.reason.startswith("semantic: nearest 'account'")
