"""OAuth2: clients, access tokens (issued by Authlib's authorization server, signed with the keys of
registry.crypto.keys) and their validation. Only `server` and `protection` touch Flask; the rest is plain Python."""
