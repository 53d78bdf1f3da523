"""OAuth2: signing keys, clients, access tokens (issued by Authlib's authorization server) and
their validation. Only `server` and `protection` touch Flask; the rest is plain Python."""
