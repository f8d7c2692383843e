"""``http.tls`` and ``grpc.tls``: validation, paths relative to the file, the checks that the
files load, and what Serve and `fleet up` are given."""

from pathlib import Path

import pytest

from cluster.config import ConfigError, load_config, parse_config
from cluster.config.checks import check_tls_files
from cluster.launcher import Endpoints
from cluster.serve_config import http_options
from tests.support.certs import CertificateAuthority

MINIMAL = """
models:
  - name: tiny-qwen2
    source: zoo:tiny-qwen2
"""


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("pki"), "config-ca")


def test_https_reaches_serves_http_options_and_the_printed_endpoint() -> None:
    config = parse_config(
        MINIMAL + "http:\n  port: 8443\n  tls: {cert_file: /pki/s.pem, key_file: /pki/s.key}\n"
    )

    assert http_options(config) == {
        "host": "127.0.0.1",
        "port": 8443,
        "ssl_certfile": "/pki/s.pem",
        "ssl_keyfile": "/pki/s.key",
    }
    assert Endpoints.of(config).http == "https://127.0.0.1:8443/v1"
    assert Endpoints.of(config).grpc_tls is None


def test_the_grpc_gateway_endpoint_is_printed_beside_the_plaintext_proxy() -> None:
    config = parse_config(MINIMAL + "grpc:\n  tls: {cert_file: s.pem, key_file: s.key}\n")

    assert Endpoints.of(config).grpc == "127.0.0.1:9000"
    assert Endpoints.of(config).grpc_tls == "127.0.0.1:9443"


def test_certificate_tenants_need_mutual_tls() -> None:
    text = MINIMAL + "grpc:\n  tls: {cert_file: s.pem, key_file: s.key, client_tenants: {a: b}}\n"

    with pytest.raises(ConfigError, match=r"grpc\.tls: .*client_tenants: .*needs client_ca_file"):
        parse_config(text, "cluster.yaml")


def test_certificate_tenants_need_a_trusted_gateway_tenant() -> None:
    tls = "{cert_file: s.pem, key_file: s.key, client_ca_file: ca.pem, client_tenants: {a: b}"
    refused = MINIMAL + f"grpc:\n  tls: {tls}, upstream_tenant: gw}}\n"
    with pytest.raises(ConfigError, match=r"upstream_tenant: .*trusted_upstreams .*'gw'"):
        parse_config(refused, "cluster.yaml")

    trusted = refused + "auth:\n  tenants: {gw: {}}\n  trusted_upstreams: [gw]\n"
    assert parse_config(trusted).grpc.tls.upstream_tenant == "gw"  # type: ignore[union-attr]
    unauthenticated = refused + "auth:\n  enabled: false\n"
    assert parse_config(unauthenticated).grpc.tls is not None


def test_the_gateway_port_must_be_its_own() -> None:
    text = MINIMAL + "grpc:\n  port: 9000\n  tls: {cert_file: s.pem, key_file: s.key, port: 9000}\n"

    with pytest.raises(ConfigError, match=r"grpc\.tls\.port: 9000 is already"):
        parse_config(text)


def test_certificate_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "cluster.yaml"
    path.parent.mkdir()
    tls = "{cert_file: pki/s.pem, key_file: /abs/s.key, client_ca_file: ../ca.pem}"
    http_tls = "{cert_file: pki/s.pem, key_file: /abs/s.key}"
    path.write_text(MINIMAL + f"http:\n  port: 8000\n  tls: {http_tls}\ngrpc:\n  tls: {tls}\n")

    config = load_config(path)

    assert config.grpc.tls is not None
    assert config.grpc.tls.cert_file == str(tmp_path / "conf" / "pki" / "s.pem")
    assert config.grpc.tls.key_file == "/abs/s.key"
    assert config.grpc.tls.client_ca_file == str(tmp_path / "ca.pem")
    assert config.http.tls is not None
    assert config.http.tls.cert_file == config.grpc.tls.cert_file


def test_loadable_certificate_files_pass_the_check(ca: CertificateAuthority) -> None:
    server = ca.issue("server", server=True)
    config = parse_config(
        MINIMAL + f"grpc:\n  tls: {{cert_file: {server.cert_file}, key_file: {server.key_file}, "
        f"client_ca_file: {ca.cert_file}}}\n"
    )

    check_tls_files(config, "cluster.yaml")


def test_a_key_of_another_certificate_is_refused_naming_the_field(ca: CertificateAuthority) -> None:
    one, other = ca.issue("one", server=True), ca.issue("other", server=True)
    config = parse_config(
        MINIMAL + f"http:\n  port: 8000\n  tls: {{cert_file: {one.cert_file}, "
        f"key_file: {other.key_file}}}\n"
    )

    with pytest.raises(ConfigError, match=r"cluster\.yaml: http\.tls\.cert_file/key_file"):
        check_tls_files(config, "cluster.yaml")


def test_a_missing_client_ca_is_refused(ca: CertificateAuthority, tmp_path: Path) -> None:
    server = ca.issue("server2", server=True)
    config = parse_config(
        MINIMAL + f"grpc:\n  tls: {{cert_file: {server.cert_file}, key_file: {server.key_file}, "
        f"client_ca_file: {tmp_path / 'nope.pem'}}}\n"
    )

    with pytest.raises(ConfigError, match=r"grpc\.tls\.client_ca_file: cannot load"):
        check_tls_files(config)
