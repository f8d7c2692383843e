"""API keys through the HTTP adapter: 401 before anything else, 403 for what a tenant may
not name, and listings that show a tenant only its own names."""

import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from services.auth.access import (
    GUARD_POLICY_HEADER,
    INVALID_KEY,
    MALFORMED_KEY,
    AccessControl,
    KeyRing,
)
from services.auth.config import AuthConfig, TenantPolicy
from services.auth.keys import ApiKey, issue_key
from services.auth.store import KeyStore, by_key_id
from services.guardrails.config import GuardrailsConfig
from services.guardrails.policies import GuardPolicies
from services.router.guarding import Guardrails
from tests.unit.api.test_http_handlers import BODY, make_client
from tests.unit.router.fakes import ScriptedBackend, chat_response

CONFIG = AuthConfig(
    tenants={
        "limited": TenantPolicy(models=["chat"]),
        "capped": TenantPolicy(max_tokens=24),
        "careful": TenantPolicy(guard_policies=["no-hi"]),
    }
)
# Bound to nothing: it runs only when a request asks for it (BODY says "hi").
GUARDS = GuardrailsConfig.model_validate(
    {"policies": [{"name": "no-hi", "checks": [{"type": "keywords", "words": ["hi"]}]}]}
)


class Keys:
    def __init__(self, tmp_path: Path) -> None:
        store = KeyStore(tmp_path / "keys.json")
        self.acme, _ = store.create(tenant="acme")
        self.limited, _ = store.create(tenant="limited")
        self.capped, _ = store.create(tenant="capped")
        self.careful, _ = store.create(tenant="careful")
        self.revoked, _ = store.create(tenant="acme")
        store.revoke(self.revoked.key_id)
        self.access = AccessControl(CONFIG, KeyRing(by_key_id(store.records())))


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path)


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend({"alpha": [chat_response("hello")]})


@pytest.fixture
def client(keys: Keys, backend: ScriptedBackend) -> TestClient:
    return make_client(backend, access=keys.access, guardrails=Guardrails(GuardPolicies(GUARDS)))


def auth(key: ApiKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.token}"}


def assert_unauthenticated(response: httpx.Response) -> dict:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == 401
    assert error["message"]
    return error


def test_no_key_is_a_401_with_an_openai_error_and_www_authenticate(
    client: TestClient, backend: ScriptedBackend
) -> None:
    response = client.post("/v1/chat/completions", json=BODY)

    assert_unauthenticated(response)
    assert backend.calls == []


def test_a_non_bearer_authorization_is_a_401(client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", json=BODY, headers={"Authorization": "Basic dXNlcjpwdw=="}
    )

    assert_unauthenticated(response)


@pytest.mark.parametrize("which", ["unknown", "revoked", "wrong_secret"])
def test_a_bad_key_is_a_401_that_never_echoes_it(
    client: TestClient, keys: Keys, backend: ScriptedBackend, which: str
) -> None:
    key = {
        "unknown": issue_key(),
        "revoked": keys.revoked,
        "wrong_secret": ApiKey(keys.acme.key_id, issue_key().secret),
    }[which]

    response = client.post("/v1/chat/completions", json=BODY, headers=auth(key))

    error = assert_unauthenticated(response)
    assert error["message"] == INVALID_KEY
    assert key.secret not in response.text
    assert backend.calls == []


def test_a_malformed_key_is_a_401_saying_so(client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", json=BODY, headers={"Authorization": "Bearer sk-123"}
    )

    error = assert_unauthenticated(response)
    assert error["message"] == MALFORMED_KEY
    assert "sk-123" not in response.text


def test_the_key_is_checked_before_the_body_is_parsed(client: TestClient) -> None:
    response = client.post("/v1/chat/completions", content=b"{not json", headers=auth(issue_key()))

    error = assert_unauthenticated(response)
    assert "JSON" not in error["message"]


def test_with_a_valid_key_a_broken_body_is_a_400(client: TestClient, keys: Keys) -> None:
    response = client.post("/v1/chat/completions", content=b"{not json", headers=auth(keys.acme))

    assert response.status_code == 400


def test_a_valid_key_gets_the_answer(
    client: TestClient, keys: Keys, backend: ScriptedBackend
) -> None:
    response = client.post("/v1/chat/completions", json=BODY, headers=auth(keys.acme))

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello"
    assert [model for model, _, _ in backend.calls] == ["alpha"]


def test_a_restricted_tenant_may_not_name_another_model(
    client: TestClient, keys: Keys, backend: ScriptedBackend
) -> None:
    response = client.post("/v1/chat/completions", json=BODY, headers=auth(keys.limited))

    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("permission_denied", "model", 403)
    assert error["message"].endswith("it may use: chat")
    assert backend.calls == []


def test_a_restricted_tenant_may_call_its_route(
    client: TestClient, keys: Keys, backend: ScriptedBackend
) -> None:
    response = client.post(
        "/v1/chat/completions", json={**BODY, "model": "chat"}, headers=auth(keys.limited)
    )

    assert response.status_code == 200
    assert response.headers["x-fleet-route"] == "chat"
    assert [model for model, _, _ in backend.calls] == ["alpha"]


def test_the_token_ceiling_applies_to_the_tenants_requests(
    client: TestClient, keys: Keys, backend: ScriptedBackend
) -> None:
    over = client.post(
        "/v1/chat/completions", json={**BODY, "max_tokens": 25}, headers=auth(keys.capped)
    )
    unnamed = client.post("/v1/chat/completions", json=BODY, headers=auth(keys.capped))

    assert over.status_code == 403
    assert over.json()["error"]["param"] == "max_tokens"
    assert unnamed.status_code == 200
    _, _, sent = backend.calls[0]
    assert vars(sent)["max_tokens"] == 24


def test_a_restricted_tenant_lists_only_its_names(client: TestClient, keys: Keys) -> None:
    listed = client.get("/v1/models", headers=auth(keys.limited))
    everything = client.get("/v1/models", headers=auth(keys.acme))

    assert listed.status_code == 200
    assert [card["id"] for card in listed.json()["data"]] == ["chat"]
    assert [card["id"] for card in everything.json()["data"]] == ["alpha", "chat"]


def test_listing_models_needs_a_key(client: TestClient) -> None:
    assert_unauthenticated(client.get("/v1/models"))
    assert_unauthenticated(client.get("/v1/models/alpha"))


def test_a_model_the_tenant_may_not_use_is_not_found_for_it(client: TestClient, keys: Keys) -> None:
    hidden = client.get("/v1/models/alpha", headers=auth(keys.limited))
    own = client.get("/v1/models/chat", headers=auth(keys.limited))

    assert hidden.status_code == 404
    error = hidden.json()["error"]
    assert error["param"] == "model"
    assert "Models served: chat." in error["message"]
    assert own.status_code == 200
    assert own.json()["id"] == "chat"


def test_a_claimed_tenant_header_does_not_widen_an_ordinary_tenant(
    client: TestClient, keys: Keys
) -> None:
    response = client.get("/v1/models", headers={**auth(keys.limited), "x-fleet-tenant": "acme"})

    assert [card["id"] for card in response.json()["data"]] == ["chat"]


def test_a_401_body_is_valid_json_with_every_openai_field(client: TestClient) -> None:
    body = json.loads(client.post("/v1/chat/completions", json=BODY).text)

    assert set(body["error"]) >= {"message", "type", "param", "code"}
    assert body["error"]["param"] is None


def test_a_guard_policy_the_tenant_may_ask_for_runs_when_the_header_asks(
    client: TestClient, keys: Keys, backend: ScriptedBackend
) -> None:
    asked = {**auth(keys.careful), GUARD_POLICY_HEADER: "no-hi"}

    blocked = client.post("/v1/chat/completions", json=BODY, headers=asked)
    plain = client.post("/v1/chat/completions", json=BODY, headers=auth(keys.careful))

    assert blocked.status_code == 400
    assert blocked.json()["error"]["type"] == "guardrail_violation"
    assert plain.status_code == 200 and "guardrails" not in plain.json()["fleet"]
    assert len(backend.calls) == 1  # the blocked prompt reached no model


def test_asking_for_a_guard_policy_the_tenant_may_not_is_a_403_naming_the_header(
    client: TestClient, keys: Keys, backend: ScriptedBackend
) -> None:
    asked = {**auth(keys.acme), GUARD_POLICY_HEADER: "no-hi"}

    response = client.post("/v1/chat/completions", json=BODY, headers=asked)

    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("permission_denied", GUARD_POLICY_HEADER)
    assert error["message"].endswith("it may ask for: none")
    assert backend.calls == []


def test_a_guard_policy_header_that_names_no_policy_is_a_400(
    client: TestClient, keys: Keys
) -> None:
    asked = {**auth(keys.careful), GUARD_POLICY_HEADER: "no hi"}

    response = client.post("/v1/chat/completions", json=BODY, headers=asked)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == GUARD_POLICY_HEADER
