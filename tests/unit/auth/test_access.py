"""AccessControl: who a request is from, what it may name, how many tokens it may ask for."""

import json
from pathlib import Path

import pytest

from services.auth.access import (
    GUARD_POLICY_HEADER,
    INVALID_KEY,
    MALFORMED_KEY,
    AccessControl,
    Caller,
    Credentials,
    KeyRing,
    requested_guard_policies,
)
from services.auth.config import ANY, AuthConfig, TenantPolicy
from services.auth.keys import ApiKey, issue_key, secret_digest
from services.auth.store import KeyStore, by_key_id
from services.errors import AuthenticationError, InvalidRequestError, PermissionDeniedError
from services.router.requests import ChatCompletionRequest, CompletionRequest


def ring_of(store: KeyStore) -> KeyRing:
    return KeyRing(by_key_id(store.records()))


def bearer(key: ApiKey) -> str:
    return f"Bearer {key.token}"


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.json")


def chat(**params: object) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="alpha", messages=[{"role": "user", "content": "hi"}], **params
    )


def completion(**params: object) -> CompletionRequest:
    return CompletionRequest(model="alpha", prompt="hi", **params)


# -- identify -----------------------------------------------------------------------------


def test_auth_off_takes_the_claimed_tenant_with_an_all_allowing_policy() -> None:
    access = AccessControl(AuthConfig(enabled=False, defaults=TenantPolicy(models=["alpha"])))

    caller = access.identify(Credentials(None, claimed_tenant="acme"))

    assert caller.tenant == "acme"
    assert caller.key_id is None
    assert caller.policy.models == [ANY]
    assert caller.policy.allows("anything")
    assert access.identify(Credentials()).tenant is None
    assert access.identify(Credentials(claimed_tenant="")).tenant is None


def test_the_default_access_control_is_off() -> None:
    caller = AccessControl().identify(Credentials(claimed_tenant="acme"))
    assert caller.tenant == "acme"


@pytest.mark.parametrize(
    "authorization", [None, "", "   ", "Basic dXNlcjpwdw==", "Bearer", "Bearer  "]
)
def test_missing_or_non_bearer_authorization_is_a_401(
    store: KeyStore, authorization: str | None
) -> None:
    store.create(tenant="acme")
    access = AccessControl(AuthConfig(), ring_of(store))

    with pytest.raises(AuthenticationError) as caught:
        access.identify(Credentials(authorization))

    assert caught.value.http_status == 401


def test_a_malformed_key_is_a_401_saying_so(store: KeyStore) -> None:
    access = AccessControl(AuthConfig(), ring_of(store))

    with pytest.raises(AuthenticationError) as caught:
        access.identify(Credentials("Bearer sk-not-ours-123"))

    assert caught.value.http_status == 401
    assert caught.value.message == MALFORMED_KEY
    assert "sk-not-ours-123" not in caught.value.message


def test_unknown_wrong_and_revoked_keys_get_one_and_the_same_401(store: KeyStore) -> None:
    good, _ = store.create(tenant="acme")
    revoked, _ = store.create(tenant="acme")
    store.revoke(revoked.key_id)
    access = AccessControl(AuthConfig(), ring_of(store))
    unknown = issue_key()
    wrong_secret = ApiKey(good.key_id, issue_key().secret)

    messages = []
    for key in (unknown, wrong_secret, revoked):
        with pytest.raises(AuthenticationError) as caught:
            access.identify(Credentials(bearer(key)))
        assert caught.value.http_status == 401
        assert key.token not in caught.value.message
        assert key.secret not in caught.value.message
        messages.append(caught.value.message)

    assert messages == [INVALID_KEY] * 3
    # The good key still works: the refusals above are about the keys, not the ring.
    assert access.identify(Credentials(bearer(good))).tenant == "acme"


def test_a_legacy_operator_record_loads_but_is_never_a_valid_key(store: KeyStore) -> None:
    # Earlier versions wrote operator keys (no tenant); the file must still load.
    legacy = issue_key()
    record = {
        "key_id": legacy.key_id,
        "role": "operator",
        "tenant": None,
        "secret_sha256": secret_digest(legacy.secret),
        "created_at": "2026-01-01T00:00:00Z",
    }
    store.path.write_text(json.dumps({"version": 1, "keys": [record]}))
    tenant, _ = store.create(tenant="acme")  # the file is rewritten, the record kept
    access = AccessControl(AuthConfig(), ring_of(store))

    with pytest.raises(AuthenticationError) as caught:
        access.identify(Credentials(bearer(legacy)))

    assert (caught.value.http_status, caught.value.message) == (401, INVALID_KEY)
    assert [r.retired for r in store.records()] == [True, False]
    assert access.identify(Credentials(bearer(tenant))).tenant == "acme"


def test_the_tenant_comes_from_the_key(store: KeyStore) -> None:
    key, record = store.create(tenant="acme")
    access = AccessControl(AuthConfig(), ring_of(store))

    caller = access.identify(Credentials(bearer(key)))

    assert (caller.tenant, caller.key_id) == ("acme", record.key_id)


def test_lower_case_bearer_scheme_is_accepted(store: KeyStore) -> None:
    key, _ = store.create(tenant="acme")
    access = AccessControl(AuthConfig(), ring_of(store))

    assert access.identify(Credentials(f"bearer {key.token}")).tenant == "acme"


def test_an_ordinary_tenant_cannot_claim_another_tenant(store: KeyStore) -> None:
    key, _ = store.create(tenant="acme")
    config = AuthConfig(
        tenants={"acme": TenantPolicy(models=["alpha"]), "globex": TenantPolicy(models=[ANY])}
    )
    access = AccessControl(config, ring_of(store))

    caller = access.identify(Credentials(bearer(key), claimed_tenant="globex"))

    assert caller.tenant == "acme"
    assert caller.policy.models == ["alpha"]


def test_a_trusted_upstream_acts_for_the_tenant_it_claims(store: KeyStore) -> None:
    key, record = store.create(tenant="gateway")
    config = AuthConfig(
        tenants={"gateway": TenantPolicy(), "acme": TenantPolicy(models=["alpha"], max_tokens=9)},
        trusted_upstreams=["gateway"],
    )
    access = AccessControl(config, ring_of(store))

    caller = access.identify(Credentials(bearer(key), claimed_tenant="acme"))
    unclaimed = access.identify(Credentials(bearer(key)))

    assert caller.tenant == "acme"
    assert caller.policy == TenantPolicy(models=["alpha"], max_tokens=9)
    assert caller.key_id == record.key_id
    assert (unclaimed.tenant, unclaimed.policy) == ("gateway", TenantPolicy())


def test_policy_from_the_tenants_entry_else_the_defaults(store: KeyStore) -> None:
    listed, _ = store.create(tenant="acme")
    unlisted, _ = store.create(tenant="initech")
    config = AuthConfig(
        defaults=TenantPolicy(models=["chat"], max_tokens=5),
        tenants={"acme": TenantPolicy(models=["alpha", "beta"])},
    )
    access = AccessControl(config, ring_of(store))

    assert access.identify(Credentials(bearer(listed))).policy.models == ["alpha", "beta"]
    assert access.identify(Credentials(bearer(unlisted))).policy == TenantPolicy(
        models=["chat"], max_tokens=5
    )


def test_a_key_made_after_the_ring_was_built_is_unknown_until_replaced(store: KeyStore) -> None:
    ring = ring_of(store)
    access = AccessControl(AuthConfig(), ring)
    key, _ = store.create(tenant="acme")

    with pytest.raises(AuthenticationError):
        access.identify(Credentials(bearer(key)))
    ring.replace(by_key_id(store.records()), version=3)

    assert access.identify(Credentials(bearer(key))).tenant == "acme"
    assert ring.version == 3


# -- authorize ----------------------------------------------------------------------------


def caller_with(models: list[str], max_tokens: int | None = None) -> Caller:
    return Caller(tenant="acme", policy=TenantPolicy(models=models, max_tokens=max_tokens))


def test_an_allowed_name_passes() -> None:
    AccessControl.authorize(caller_with(["alpha", "chat"]), "chat", ["alpha", "chat"])


def test_star_allows_any_name() -> None:
    AccessControl.authorize(caller_with([ANY]), "whatever-model", [])


def test_a_refused_name_is_a_403_listing_only_the_visible_names() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        AccessControl.authorize(caller_with(["chat", "alpha"]), "secret-model", ["chat", "alpha"])

    error = caught.value
    assert error.http_status == 403
    assert error.param == "model"
    assert "'secret-model'" in error.message
    assert error.message.endswith("it may use: alpha, chat")


def test_a_refusal_with_nothing_visible_says_none() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        AccessControl.authorize(caller_with(["gone"]), "beta", [])

    assert caught.value.message.endswith("it may use: none")
    assert "gone" not in caught.value.message


# -- guard policies a request asks for ----------------------------------------------------

DEFINED = {"standard", "no-cards", "judged", "globex-only"}


def asking(*allowed: str) -> Caller:
    return Caller(tenant="acme", policy=TenantPolicy(guard_policies=list(allowed)))


def test_policies_the_tenant_may_ask_for_pass() -> None:
    AccessControl.authorize_guard_policies(asking("no-cards", "judged"), ["judged"], DEFINED)
    AccessControl.authorize_guard_policies(asking(), [], DEFINED)  # asking for none


@pytest.mark.parametrize(
    ("allowed", "requested", "listing"),
    [
        ((), ["no-cards"], "none"),  # the default: a tenant may ask for nothing
        (("no-cards",), ["no-cards", "globex-only"], "no-cards"),  # another tenant's
        (("no-cards",), ["ghost"], "no-cards"),  # defined nowhere
        (("no-cards", "retired"), ["retired"], "no-cards"),  # no longer in force
    ],
)
def test_a_policy_the_tenant_may_not_ask_for_is_a_403_naming_the_header(
    allowed: tuple[str, ...], requested: list[str], listing: str
) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        AccessControl.authorize_guard_policies(asking(*allowed), requested, DEFINED)

    error = caught.value
    assert (error.http_status, error.param) == (403, GUARD_POLICY_HEADER)
    assert GUARD_POLICY_HEADER in error.message
    assert error.message.endswith(f"it may ask for: {listing}")
    # Only the caller's own names: never the other policies defined.
    assert "standard" not in error.message and "judged" not in error.message


def test_the_header_values_become_sorted_unique_names() -> None:
    assert requested_guard_policies([]) == ()
    assert requested_guard_policies([""]) == ()
    assert requested_guard_policies(["no-cards, judged", "judged,"]) == ("judged", "no-cards")


@pytest.mark.parametrize("value", ["no cards", "a;b", "-leading", "x" * 101])
def test_a_value_that_is_no_list_of_names_is_a_400_without_echo(value: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        requested_guard_policies([value])

    assert (caught.value.http_status, caught.value.param) == (400, GUARD_POLICY_HEADER)
    assert value not in caught.value.message


# -- limit --------------------------------------------------------------------------------


def test_no_ceiling_leaves_the_request_unchanged() -> None:
    request = chat(max_tokens=10_000)
    assert AccessControl.limit(caller_with([ANY]), request) is request


def test_a_chat_request_naming_no_limit_gets_the_ceiling() -> None:
    request = chat()

    limited = AccessControl.limit(caller_with([ANY], max_tokens=32), request)

    assert vars(limited)["max_tokens"] == 32
    assert vars(limited)["max_completion_tokens"] is None
    assert vars(request)["max_tokens"] is None  # the original is not changed
    assert isinstance(limited, ChatCompletionRequest)


@pytest.mark.parametrize(("ceiling", "granted"), [(8, 8), (32, 16)])
def test_a_completion_request_naming_no_limit_keeps_the_apis_default_within_the_ceiling(
    ceiling: int, granted: int
) -> None:
    # The completions API's own default is 16 (vLLM fills it in before we see the
    # request): a lower ceiling clamps it rather than refusing a request that named nothing.
    limited = AccessControl.limit(caller_with([ANY], max_tokens=ceiling), completion())

    assert vars(limited)["max_tokens"] == granted


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (completion(max_tokens=33), "max_tokens"),
        (chat(max_tokens=33), "max_tokens"),
        (chat(max_completion_tokens=33), "max_completion_tokens"),
    ],
)
def test_asking_above_the_ceiling_is_a_403_naming_the_field(
    request_: ChatCompletionRequest | CompletionRequest, field: str
) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        AccessControl.limit(caller_with([ANY], max_tokens=32), request_)

    assert caught.value.http_status == 403
    assert caught.value.param == field
    assert "33" in caught.value.message and "32" in caught.value.message


@pytest.mark.parametrize(
    "request_",
    [
        completion(max_tokens=32),
        completion(max_tokens=1),
        chat(max_tokens=32),
        chat(max_completion_tokens=32),
        chat(max_completion_tokens=4),
    ],
)
def test_asking_at_or_below_the_ceiling_is_unchanged(
    request_: ChatCompletionRequest | CompletionRequest,
) -> None:
    before = request_.model_dump()

    limited = AccessControl.limit(caller_with([ANY], max_tokens=32), request_)

    assert limited.model_dump() == before
