"""TLS on the cluster's endpoints: the settings of Ray Serve's HTTPS, and the TLS (optionally
mutual TLS) gateway in front of Ray Serve's gRPC proxy, which listens in plaintext only."""
