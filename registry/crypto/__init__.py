"""What the registry signs, verifies and keeps secret: record envelopes (Ed25519 compact JWS over the
RFC 8785 canonical form), the key stores of the instance folder, and the secrets it must send.
Below the services, federation and auth, which all use it."""
