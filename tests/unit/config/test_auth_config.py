"""The ``auth`` section of a cluster config, and the key made at the first start."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from cluster.auth import DEFAULT_KEY_FILE, FIRST_TENANT, first_key, key_file
from cluster.config import ConfigError, load_config, parse_config
from cluster.config.schema import ClusterConfig
from services.auth.config import ANY, AuthConfig, TenantPolicy
from services.auth.store import KeyStore, authenticate, by_key_id

MODELS = [{"name": "tiny", "source": "zoo:tiny-qwen2"}]
ROUTES = [{"name": "chat", "variants": [{"name": "only", "model": "tiny"}]}]

MINIMAL = """
models:
  - name: tiny-qwen2
    source: zoo:tiny-qwen2
"""


def cluster(auth: dict) -> ClusterConfig:
    return ClusterConfig.model_validate({"models": MODELS, "routes": ROUTES, "auth": auth})


def test_tenants_may_name_served_models_routes_and_star() -> None:
    config = cluster(
        {
            "defaults": {"models": ["chat"]},
            "tenants": {"acme": {"models": ["tiny", "chat"]}, "globex": {"models": [ANY]}},
        }
    )

    assert config.auth.policy_of("acme").models == ["tiny", "chat"]
    assert config.auth.policy_of("initech").models == ["chat"]


def test_a_tenant_policy_naming_an_unserved_model_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        cluster({"tenants": {"acme": {"models": ["tiny", "ghost"]}}})

    message = str(caught.value)
    assert "auth.tenants.acme.models" in message
    assert "not a served model or route: ghost" in message  # names only the unknown one


def test_the_defaults_naming_an_unserved_route_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"auth\.defaults\.models: .*ghost-route"):
        cluster({"defaults": {"models": ["ghost-route"]}})


GUARDRAILS = {"policies": [{"name": "strict", "checks": [{"type": "secrets"}]}]}


def test_tenants_may_ask_for_defined_guard_policies_and_none_by_default() -> None:
    config = ClusterConfig.model_validate(
        {
            "models": MODELS,
            "guardrails": GUARDRAILS,
            "auth": {"tenants": {"acme": {"guard_policies": ["strict"]}}},
        }
    )

    assert config.auth.policy_of("acme").guard_policies == ["strict"]
    assert config.auth.policy_of("initech").guard_policies == []


@pytest.mark.parametrize(
    ("auth", "where"),
    [
        ({"tenants": {"acme": {"guard_policies": ["strict", "ghost"]}}}, "tenants.acme"),
        ({"defaults": {"guard_policies": ["ghost"]}}, "defaults"),
    ],
)
def test_a_tenant_asking_for_an_undefined_guard_policy_is_refused(auth: dict, where: str) -> None:
    config = {"models": MODELS, "guardrails": GUARDRAILS, "auth": auth}

    with pytest.raises(ValidationError) as caught:
        ClusterConfig.model_validate(config)

    message = caught.value.errors()[0]["msg"]
    # Names only the unknown one.
    assert message.endswith(
        f"auth.{where}.guard_policies: not a policy under guardrails.policies: ghost"
    )


def test_the_file_error_names_the_tenant_policy() -> None:
    text = MINIMAL + "auth:\n  tenants:\n    acme:\n      models: [nope]\n"

    with pytest.raises(ConfigError, match=r"auth\.tenants\.acme\.models"):
        parse_config(text, "cluster.yaml")


def test_a_trusted_upstream_must_be_a_declared_tenant() -> None:
    with pytest.raises(ValidationError, match="trusted_upstreams: 'gateway'"):
        AuthConfig(trusted_upstreams=["gateway"])
    with pytest.raises(ConfigError, match="trusted_upstreams"):
        parse_config(MINIMAL + "auth:\n  trusted_upstreams: [gateway]\n")

    config = AuthConfig(tenants={"gateway": TenantPolicy()}, trusted_upstreams=["gateway"])
    assert config.trusted_upstreams == ["gateway"]


def test_auth_is_on_by_default() -> None:
    assert AuthConfig().enabled is True
    config = parse_config(MINIMAL)
    assert config.auth.enabled is True
    assert config.auth.keys_file is None
    assert config.auth.defaults == TenantPolicy(models=[ANY])
    assert key_file(config) == DEFAULT_KEY_FILE


@pytest.mark.parametrize(
    "auth",
    [
        {"tenants": {"acme": {"models": []}}},
        {"tenants": {"acme": {"max_tokens": 0}}},
        {"tenants": {"bad name!": {}}},
        {"unknown": True},
    ],
)
def test_invalid_auth_sections_are_refused(auth: dict) -> None:
    with pytest.raises(ValidationError):
        cluster(auth)


def test_a_relative_keys_file_is_anchored_at_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "cluster.yaml"
    path.parent.mkdir()
    path.write_text(MINIMAL + "auth: {keys_file: keys/k.json}\n")

    config = load_config(path)

    assert config.auth.keys_file == str(tmp_path / "conf" / "keys" / "k.json")
    assert key_file(config) == tmp_path / "conf" / "keys" / "k.json"


def test_an_absolute_keys_file_is_kept(tmp_path: Path) -> None:
    absolute = tmp_path / "elsewhere" / "keys.json"
    path = tmp_path / "cluster.yaml"
    path.write_text(MINIMAL + f"auth: {{keys_file: '{absolute}'}}\n")

    assert load_config(path).auth.keys_file == str(absolute)


def test_the_first_start_makes_one_default_key(tmp_path: Path) -> None:
    path = tmp_path / "fleet" / "keys.json"

    issued = first_key(path)
    again = first_key(path)

    assert issued is not None
    assert again is None
    records = KeyStore(path).records()
    assert len(records) == 1
    assert (records[0].tenant, records[0].role) == (FIRST_TENANT, "tenant")
    assert authenticate(by_key_id(records), issued.token) == records[0]


def test_a_new_first_key_once_every_tenant_key_is_revoked(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    issued, _ = store.create(tenant="acme")
    store.revoke(issued.key_id)

    assert first_key(store.path) is not None
