"""Federation: signed envelopes of every record version, and the feeds peers pull them from."""
