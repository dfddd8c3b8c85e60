"""The signing desk (签署台, ``manual desk``): reviewers and approvers read a change request in a
browser and sign or return it with a passkey (WebAuthn) or their SSH key. It writes the records
``manual approve`` writes, through the same core functions (``commands/sign``), under the same
repository lock. A floor beside ``cli.py``: it imports ``commands`` and below; only the CLI's
``desk`` command imports it (its entry point, :func:`manualkit.desk.server.serve`)."""
